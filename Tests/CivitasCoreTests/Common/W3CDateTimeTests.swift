import Foundation
import Testing

@testable import CivitasCore

@Suite("W3C date-times as Open311 exchanges them")
struct W3CDateTimeTests {
    @Test("formats with the zone's offset and whole seconds")
    func formatsWithOffset() throws {
        let date = Date(timeIntervalSince1970: 1_271_252_258.75)  // 2010-04-14T13:37:38.75Z
        #expect(W3CDateTime.format(date) == "2010-04-14T13:37:38Z")
        let pacific = try #require(TimeZone(identifier: "America/Los_Angeles"))
        #expect(W3CDateTime.format(date, timeZone: pacific) == "2010-04-14T06:37:38-07:00")
        let kolkata = try #require(TimeZone(identifier: "Asia/Kolkata"))
        #expect(W3CDateTime.format(date, timeZone: kolkata) == "2010-04-14T19:07:38+05:30")
    }

    @Test(
        "parses the forms clients send",
        arguments: [
            ("2010-04-14T06:37:38-08:00", 1_271_255_858.0),
            ("2010-04-14T14:37:38Z", 1_271_255_858.0),
            ("2010-04-14T14:37:38.123Z", 1_271_255_858.0),
            ("2010-04-14T06:37:38-0800", 1_271_255_858.0),
            ("2010-04-14T14:37:38+00", 1_271_255_858.0),
            ("2010-04-14T20:07:38 05:30", 1_271_255_858.0),  // a '+' decoded to a space
            ("2010-04-14", 1_271_203_200.0),
            ("2010-04-13T21:39:38-16:58", 1_271_255_858.0),  // RFC 3339 allows any offset below 24 hours
            ("0231-01-27T07:00:56Z", -54_875_293_144.0),
        ])
    func parses(text: String, seconds: Double) {
        #expect(W3CDateTime.parse(text)?.timeIntervalSince1970 == seconds)
    }

    @Test("a time without a zone is read in the jurisdiction's zone")
    func defaultZone() throws {
        let eastern = try #require(TimeZone(identifier: "America/New_York"))
        #expect(W3CDateTime.parse("2026-07-01T08:00:00", defaultZone: eastern)?.timeIntervalSince1970 == 1_782_907_200)
    }

    @Test(
        "rejects what is not a date",
        arguments: [
            "", "yesterday", "2010-13-01", "2010-02-30T00:00:00Z", "2010/04/14", "2010-04-14T25:00:00Z", "2010-04-14T10:00:00Zjunk",
            "2010-04-14T10:00:00+24:00",
        ])
    func rejects(text: String) {
        #expect(W3CDateTime.parse(text) == nil)
    }

    @Test("round-trips every day across leap years")
    func roundTrips() {
        for day in stride(from: -800, to: 30_000, by: 7) {
            let date = Date(timeIntervalSince1970: TimeInterval(day) * 86_400 + 45_296)
            #expect(W3CDateTime.parse(W3CDateTime.format(date)) == date)
        }
    }
}
