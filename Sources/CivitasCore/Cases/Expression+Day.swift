import Foundation

// MARK: - Calendar days

extension Expression {
    /// A day on the proleptic Gregorian calendar in UTC. Rules compare whole days, so time zones stay out of them.
    struct Day: Comparable, CustomStringConvertible, Sendable {
        let year: Int
        let month: Int
        let day: Int

        private static let daysBeforeMonth = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]

        static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

        static func daysIn(month: Int, year: Int) -> Int {
            switch month {
            case 2: return isLeap(year) ? 29 : 28
            case 4, 6, 9, 11: return 30
            default: return 31
            }
        }

        /// Leap days in years 1 through `year - 1` (floor division keeps this right for years before 1).
        private static func leapDaysBefore(_ year: Int) -> Int {
            func floorDiv(_ a: Int, _ b: Int) -> Int { Int((Double(a) / Double(b)).rounded(.down)) }
            let previous = year - 1
            return floorDiv(previous, 4) - floorDiv(previous, 100) + floorDiv(previous, 400)
        }

        /// Days from 1970-01-01 to the start of `year`.
        private static func daysBefore(year: Int) -> Int {
            365 * (year - 1970) + leapDaysBefore(year) - leapDaysBefore(1970)
        }

        init(year: Int, month: Int, day: Int) {
            self.year = year
            self.month = month
            self.day = day
        }

        /// Roughly years -100000 to 100000; case data is never near this, but a corrupt timestamp must not trap.
        private static let dayRange = -37_200_000.0...35_800_000.0

        /// The UTC day containing `date`.
        init(_ date: Date) {
            let exact = date.timeIntervalSince1970 / 86_400
            let clamped = exact.isNaN ? 0 : Swift.min(Swift.max(exact, Self.dayRange.lowerBound), Self.dayRange.upperBound)
            let days = Int(clamped.rounded(.down))
            // Estimate the year, then correct it; the estimate is off by at most one.
            var year = 1970 + Int((Double(days) / 365.2425).rounded(.down))
            while Self.daysBefore(year: year) > days { year -= 1 }
            while Self.daysBefore(year: year + 1) <= days { year += 1 }
            var remaining = days - Self.daysBefore(year: year)
            var month = 1
            while remaining >= Self.daysIn(month: month, year: year) {
                remaining -= Self.daysIn(month: month, year: year)
                month += 1
            }
            self.init(year: year, month: month, day: remaining + 1)
        }

        /// Exactly `YYYY-MM-DD` naming a real day; anything else is not a date.
        init?(text: String) {
            let characters = Array(text)
            guard characters.count == 10, characters[4] == "-", characters[7] == "-" else { return nil }
            func number(_ range: Range<Int>) -> Int? {
                let digits = characters[range]
                guard digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
                return Int(String(digits))
            }
            guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
                (1...12).contains(month), (1...Self.daysIn(month: month, year: year)).contains(day)
            else { return nil }
            self.init(year: year, month: month, day: day)
        }

        var daysSinceEpoch: Int {
            let leapDay = month > 2 && Self.isLeap(year) ? 1 : 0
            return Self.daysBefore(year: year) + Self.daysBeforeMonth[month - 1] + leapDay + day - 1
        }

        /// Midnight UTC at the start of the day.
        var date: Date { Date(timeIntervalSince1970: Double(daysSinceEpoch) * 86_400) }

        var description: String {
            func pad(_ value: Int, _ width: Int) -> String {
                let digits = String(abs(value))
                return (value < 0 ? "-" : "") + String(repeating: "0", count: max(0, width - digits.count)) + digits
            }
            return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
        }

        static func < (lhs: Day, rhs: Day) -> Bool {
            (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
        }
    }
}
