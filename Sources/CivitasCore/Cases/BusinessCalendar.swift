import Foundation

/// The hours an agency works (days and times, in its time zone) and its holidays: service levels on cases count
/// only these ("2 business days" submitted on a Friday afternoon is due on Tuesday afternoon).
public struct BusinessCalendar: Sendable, Equatable {
    public var hours: Shift
    /// Days off, as "2026-12-25".
    public var holidays: Set<String>
    public var zone: TimeZone

    public static func standard(zone: TimeZone) -> BusinessCalendar {
        BusinessCalendar(hours: Shift(days: [1, 2, 3, 4, 5], start: 9 * 60, end: 17 * 60), holidays: [], zone: zone)
    }

    public init(hours: Shift, holidays: Set<String>, zone: TimeZone) {
        self.hours = hours
        self.holidays = holidays
        self.zone = zone
    }

    var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        return calendar
    }

    func dayText(_ date: Date) -> String {
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
    }

    /// Is the local day of `date` a working day?
    public func isWorkday(_ date: Date) -> Bool {
        let weekday = (calendar.component(.weekday, from: date) + 5) % 7 + 1  // ISO: Monday = 1
        return hours.days.contains(weekday) && !holidays.contains(dayText(date))
    }

    /// The opening and closing times of the local day that `date` falls on.
    func window(of date: Date) -> (opens: Date, closes: Date) {
        let midnight = calendar.startOfDay(for: date)
        return (
            calendar.date(byAdding: .minute, value: hours.start, to: midnight)!,
            calendar.date(byAdding: .minute, value: min(hours.end, 24 * 60), to: midnight)!
        )
    }

    /// `start` plus `hours` of working time: only time inside opening hours on working days counts.
    public func adding(businessHours amount: Double, to start: Date) -> Date {
        var remaining = amount * 3600
        var cursor = start
        // Bounded: ten years of days is far beyond any service level.
        for _ in 0..<3700 {
            if isWorkday(cursor) {
                let (opens, closes) = window(of: cursor)
                let from = max(cursor, opens)
                if from < closes {
                    let available = closes.timeIntervalSince(from)
                    if remaining <= available { return from.addingTimeInterval(remaining) }
                    remaining -= available
                }
            }
            cursor = calendar.date(byAdding: .day, value: 1, to: calendar.startOfDay(for: cursor))!
        }
        return cursor
    }

    /// The close of business on the `days`-th working day after the day of `start` (the same day for 0).
    public func adding(businessDays days: Int, to start: Date) -> Date {
        var cursor = start
        var counted = 0
        if days == 0 { return isWorkday(start) ? max(start, window(of: start).closes) : adding(businessDays: 1, to: start) }
        for _ in 0..<3700 {
            cursor = calendar.date(byAdding: .day, value: 1, to: calendar.startOfDay(for: cursor))!
            if isWorkday(cursor) {
                counted += 1
                if counted == days { return window(of: cursor).closes }
            }
        }
        return cursor
    }

    /// A service level's deadline from `start`.
    public func deadline(_ level: ServiceLevel, from start: Date) -> Date {
        switch level {
        case .businessDays(let days): adding(businessDays: days, to: start)
        case .businessHours(let hours): adding(businessHours: hours, to: start)
        case .days(let days): calendar.date(byAdding: .day, value: days, to: start)!
        }
    }
}

/// How long a case may stay in a state: "5 business days", "8 business hours", "30 days" (calendar days).
public enum ServiceLevel: Sendable, Equatable, CustomStringConvertible {
    case businessDays(Int)
    case businessHours(Double)
    case days(Int)

    public static func parse(_ text: String) -> ServiceLevel? {
        let words = text.lowercased().split(separator: " ").map(String.init)
        guard words.count >= 2, let amount = Double(words[0]), amount >= 0, amount <= 3650 else { return nil }
        let unit = words.dropFirst().joined(separator: " ")
        switch unit {
        case "business day", "business days": return amount == amount.rounded() ? .businessDays(Int(amount)) : nil
        case "business hour", "business hours": return .businessHours(amount)
        case "day", "days", "calendar day", "calendar days": return amount == amount.rounded() ? .days(Int(amount)) : nil
        default: return nil
        }
    }

    /// The length in calendar seconds, for timers that count plain time ("after 14 days").
    public var calendarSeconds: TimeInterval? {
        if case .days(let days) = self { return TimeInterval(days) * 86_400 }
        return nil
    }

    public var description: String {
        switch self {
        case .businessDays(let days): "\(days) business day\(days == 1 ? "" : "s")"
        case .businessHours(let hours):
            "\(hours == hours.rounded() ? String(Int(hours)) : String(hours)) business hour\(hours == 1 ? "" : "s")"
        case .days(let days): "\(days) day\(days == 1 ? "" : "s")"
        }
    }
}
