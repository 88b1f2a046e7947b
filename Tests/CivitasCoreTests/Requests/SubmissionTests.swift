import Foundation
import Testing

@testable import CivitasCore

let bulky = ServiceDefinition(
    code: "BULKY", name: "Bulky item pickup",
    attributes: [
        ServiceAttribute(
            code: "ITEMS", datatype: .multivaluelist, required: true, order: 1, description: "What needs to be picked up?",
            values: [.init(key: "mattress", name: "Mattress"), .init(key: "sofa", name: "Sofa"), .init(key: "fridge", name: "Fridge")]),
        ServiceAttribute(code: "COUNT", datatype: .number, required: true, order: 2, description: "How many?"),
        ServiceAttribute(code: "READY", datatype: .datetime, order: 3, description: "When?"),
        ServiceAttribute(
            code: "SIZE", datatype: .singlevaluelist, order: 4, description: "How big?",
            values: [.init(key: "s", name: "Small"), .init(key: "l", name: "Large")]),
        ServiceAttribute(code: "NOTE", datatype: .string, order: 5, description: "Anything else?"),
        ServiceAttribute(variable: false, code: "INFO", datatype: .text, order: 6, description: "Ten items at most."),
    ], department: "Public Works", slaHours: 120)

func validate(_ pairs: [(String, String)], service: ServiceDefinition = bulky) -> Result<NewServiceRequest, ValidationFailures> {
    NewServiceRequest.validate(Open311Parameters(pairs), service: service)
}

func codes(_ result: Result<NewServiceRequest, ValidationFailures>) -> [String] {
    if case .failure(let failures) = result { return failures.errors.map(\.code) }
    return []
}

@Suite("Checking an Open311 submission against its service")
struct SubmissionTests {
    let base: [(String, String)] = [("lat", "39.29"), ("long", "-76.61"), ("attribute[ITEMS]", "sofa"), ("attribute[COUNT]", "2")]

    @Test("multi-value attributes arrive as [], [N] or repeated keys and keep their order")
    func multiValueForms() throws {
        for pairs in [
            [("attribute[ITEMS][]", "sofa"), ("attribute[ITEMS][]", "fridge")],
            [("attribute[ITEMS][1]", "fridge"), ("attribute[ITEMS][0]", "sofa")],
            [("attribute[ITEMS]", "sofa"), ("attribute[ITEMS]", "fridge")],
        ] {
            let result = validate([("lat", "39.29"), ("long", "-76.61"), ("attribute[COUNT]", "1")] + pairs)
            #expect(try result.get().attributes["ITEMS"] == ["sofa", "fridge"])
        }
    }

    @Test("a missing required attribute is named in the error")
    func requiredAttribute() {
        let result = validate([("lat", "39.29"), ("long", "-76.61"), ("attribute[COUNT]", "2")])
        guard case .failure(let failures) = result else {
            Issue.record("accepted without ITEMS")
            return
        }
        #expect(failures.errors.map(\.field) == ["attribute[ITEMS]"])
        #expect(failures.errors[0].message.contains("attribute[ITEMS]"))
    }

    @Test("list values must be keys of the definition")
    func listValues() {
        #expect(codes(validate(base + [("attribute[SIZE]", "huge")])) == ["attribute_value_not_allowed"])
        #expect(codes(validate(base + [("attribute[SIZE]", "s"), ("attribute[SIZE]", "l")])) == ["attribute_single_value"])
        #expect(
            codes(validate([("lat", "1"), ("long", "1"), ("attribute[ITEMS]", "car"), ("attribute[COUNT]", "1")])) == ["attribute_value_not_allowed"])
    }

    @Test("numbers and date-times are checked")
    func typedAttributes() {
        #expect(codes(validate(base.filter { $0.0 != "attribute[COUNT]" } + [("attribute[COUNT]", "two")])) == ["attribute_not_a_number"])
        #expect(codes(validate(base + [("attribute[READY]", "tomorrow")])) == ["attribute_not_a_datetime"])
        #expect(codes(validate(base + [("attribute[READY]", "2026-11-24T07:00:00-05:00")])).isEmpty)
    }

    @Test("an empty parameter is the same as an absent one")
    func emptyIsAbsent() throws {
        let result = validate(base + [("description", ""), ("email", ""), ("attribute[SIZE]", ""), ("media_url", "")])
        let request = try result.get()
        #expect(request.description == nil)
        #expect(request.reporter.email == nil)
        #expect(request.attributes["SIZE"] == nil)
    }

    @Test("unknown parameters and attributes are ignored; informational attributes take no input")
    func unknownIgnored() throws {
        let request = try validate(base + [("favourite_colour", "blue"), ("attribute[NOPE]", "x"), ("attribute[INFO]", "y")]).get()
        #expect(request.attributes.keys.sorted() == ["COUNT", "ITEMS"])
    }

    @Test("one location is required, and lat comes with long")
    func location() throws {
        let attributes = [("attribute[ITEMS]", "sofa"), ("attribute[COUNT]", "2")]
        #expect(codes(validate(attributes)) == ["location_missing"])
        #expect(codes(validate(attributes + [("lat", "39.2")])) == ["long_missing"])
        #expect(codes(validate(attributes + [("lat", "91"), ("long", "0")])) == ["lat_invalid"])
        #expect(codes(validate(attributes + [("lat", "x"), ("long", "0")])) == ["lat_invalid"])
        #expect(try validate(attributes + [("address_string", "100 Main St")]).get().location.address == "100 Main St")
        #expect(try validate(attributes + [("address_id", "545483")]).get().location.addressID == "545483")
    }

    @Test("description is at most 4000 characters")
    func descriptionLimit() {
        #expect(codes(validate(base + [("description", String(repeating: "a", count: 4000))])).isEmpty)
        #expect(codes(validate(base + [("description", String(repeating: "é", count: 4001))])) == ["description_too_long"])
    }

    @Test("personal and location fields have length limits")
    func lengthLimits() {
        #expect(codes(validate(base + [("first_name", String(repeating: "a", count: 201))])) == ["first_name_too_long"])
        #expect(codes(validate(base + [("phone", String(repeating: "5", count: 51))])) == ["phone_too_long"])
        #expect(codes(validate(base + [("first_name", String(repeating: "a", count: 200))])).isEmpty)
    }

    @Test("lengths are counted in Unicode scalars, as JSON Schema counts them")
    func lengthsInScalars() {
        // "e" + a combining acute accent is one character but two scalars: 101 of them are 202 scalars.
        let accented = String(repeating: "e\u{301}", count: 101)
        #expect(accented.count == 101)
        #expect(codes(validate(base + [("first_name", accented)])) == ["first_name_too_long"])
    }

    @Test(
        "an email address needs one @, no whitespace and a dotted domain, scalar by scalar",
        arguments: [
            ("ana@example.org", true), ("ana.diaz+311@mail.example.org", true), ("josé@correo.example", true),
            ("ana@example", false), ("ana@@example.org", false), ("@example.org", false), ("ana@.example.org", false),
            ("ana@example.org.", false), ("ana @example.org", false), ("ana@example.org\u{2028}", false),
            // A combining mark after the @ joins it into one Character; it must not hide the @ from the check.
            ("s-0r@\u{E01C1}ç.W", true), ("a\u{301}@b.c", true), ("a@\u{301}@b.c", false),
        ])
    func emails(address: String, valid: Bool) {
        #expect(NewServiceRequest.isPlausibleEmail(address) == valid)
    }

    @Test("every problem is reported at once")
    func allProblems() {
        #expect(
            codes(validate([("email", "not-an-email")])).sorted() == [
                "attribute_required", "attribute_required", "email_invalid", "location_missing",
            ])
    }

    @Test("the reporter's details are kept as given")
    func reporter() throws {
        let request = try validate(
            base + [
                ("email", "ana@example.org"), ("first_name", "Ana"), ("last_name", "Diaz"), ("phone", "555 0100"), ("device_id", "d1"),
                ("account_id", "a1"),
            ]
        ).get()
        #expect(
            request.reporter
                == Reporter(email: "ana@example.org", deviceID: "d1", accountID: "a1", firstName: "Ana", lastName: "Diaz", phone: "555 0100"))
    }

    @Test("the service notice follows the SLA")
    func notice() {
        #expect(bulky.notice == "We aim to deal with this within 5 days.")
        #expect(ServiceDefinition(code: "S", name: "S", slaHours: 4).notice == "We aim to deal with this within 4 hours.")
        #expect(ServiceDefinition(code: "S", name: "S").notice == nil)
    }
}

@Suite("Date-time attributes as clients send them")
struct DateTimeAttributeTests {
    @Test(
        "W3C date-times and phone date-picker dates are accepted; other text is not",
        arguments: [
            ("2026-11-24T07:00:00-05:00", true), ("2026-11-24", true), ("5/1/24", true), ("01.05.2024", true), ("31/12/2026", true),
            ("2026/11/24", true), ("tomorrow", false), ("13/13/2026", false), ("1/2", false), ("", false),
        ])
    func accepted(value: String, ok: Bool) {
        #expect(NewServiceRequest.isDateTime(value) == ok)
    }
}
