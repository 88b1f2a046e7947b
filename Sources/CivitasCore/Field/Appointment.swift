import Foundation

/// A time agreed with a resident for a visit.
public enum Appointment {
    /// "Tue 24 Nov 10:00–12:00" in the jurisdiction's time zone.
    public static func describe(_ window: DateInterval, zone: TimeZone, language: Language = .english) -> String {
        func format(_ pattern: String) -> DateFormatter {
            let format = DateFormatter()
            format.locale = Locale(identifier: language == .spanish ? "es_US" : "en_US_POSIX")
            format.timeZone = zone
            format.dateFormat = pattern
            return format
        }
        return "\(format("EEE d MMM HH:mm").string(from: window.start))–\(format("HH:mm").string(from: window.end))"
    }
}
