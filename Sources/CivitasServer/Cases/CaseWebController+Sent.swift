import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird

/// The applicant's pages around sending: the confirmation with what happens next, steps that end an application
/// asked about first, what the agency asked for and decided shown first, and dates asked as day, month and year.
extension CaseWebController {
    /// After sending: the reference number, what happens next, and where to follow it.
    func sentPage(_ request: Request, context: CivitasRequestContext) async throws -> Response {
        guard let (identity, userID) = try await resident(request) else { return web.signInFirst(request) }
        let (found, type) = try await ownCase(request, context, userID: userID)
        guard found.submittedAt != nil else { return web.redirect("/my/cases/\(found.id)") }
        return web.page(
            "cases/sent", title: t(request, "cases_sent_title"), request: request, identity: identity,
            values: [
                "id": found.id, "name": type.name, "next": type.whatHappensNext, "hasNext": !type.whatHappensNext.isEmpty,
                "status": type.state(found.state)?.applicantText ?? "",
                "email": identity.user.map { t(request, "cases_sent_email", ["email": $0.email]) } ?? "",
            ])
    }

    /// A step that ends the application (withdrawing it, or cancelling a draft) is asked about first.
    func endsApplication(_ step: CaseTransition, type: CaseType) -> Bool { type.state(step.to)?.final == true }

    func stepConfirmView(_ request: Request, identity: Identity, found: CaseRecord, type: CaseType, step: CaseTransition) -> Response {
        let draft = found.state == type.initialState.key
        return web.page(
            "cases/step-confirm",
            title: draft ? t(request, "cases_cancel_title") : t(request, "cases_step_confirm_title", ["step": step.label]),
            request: request, identity: identity,
            values: [
                "id": found.id, "name": type.name, "step": step.key, "label": step.label, "draft": draft,
                "after": type.state(step.to)?.applicantText ?? "",
                "yes": t(request, "cases_step_yes", ["step": step.label.prefix(1).lowercased() + step.label.dropFirst()]),
            ])
    }

    /// What the case page says after the applicant did something, from the address it was sent to.
    func doneNotice(_ request: Request, type: CaseType) -> String? {
        let query = request.query
        if query["saved"] != nil { return t(request, "cases_saved_notice") }
        if query["uploaded"] != nil { return t(request, "cases_uploaded_notice") }
        if query["done"] == "cancelled" { return t(request, "cases_cancelled_notice") }
        if let key = query["done"], let step = type.transition(key) {
            return t(request, "cases_done_notice", ["step": step.label])
        }
        return nil
    }

    /// The agency's reason for the state the case is in now, as the agent wrote it ("Please upload proof of
    /// identity."), from the step that brought it there.
    func reasonForState(_ found: CaseRecord, events: [CaseEvent]) -> String? {
        guard let last = events.last(where: { $0.kind == "transition" }), last.toState == found.state, let body = last.body,
            let reason = CaseWords.reason(in: body)
        else { return nil }
        let text = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }

    /// A decision is shown once a person or the workflow made it: the case is closed by a step that judged the rules
    /// (approving with its checks, denying with its reasons), not while the answers are only being read.
    func decided(_ found: CaseRecord, type: CaseType, events: [CaseEvent]) -> Bool {
        guard type.state(found.state)?.final == true,
            let key = events.last(where: { $0.kind == "transition" && $0.toState == found.state })?.transition,
            let step = type.transition(key)
        else { return false }
        return !step.decides.isEmpty || !step.guarding.rules.isEmpty
    }

    // MARK: Dates as day, month and year

    /// The three boxes of a date question, in the order the reader writes dates (month first in US English).
    func dateParts(_ current: String, field: CaseField, language: Language, request: Request) -> [[String: Any]] {
        let pieces = current.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        let (year, month, day) = pieces.count == 3 ? (pieces[0], pieces[1], pieces[2]) : ("", "", "")
        func trimmed(_ text: String) -> String { text.count == 2 && text.hasPrefix("0") ? String(text.dropFirst()) : text }
        let birth = field.key.contains("birth")
        let boxes: [String: [String: Any]] = [
            "day": ["name": "day", "label": t(request, "cases_date_day"), "value": trimmed(day), "width": "2"],
            "month": ["name": "month", "label": t(request, "cases_date_month"), "value": trimmed(month), "width": "2"],
            "year": ["name": "year", "label": t(request, "cases_date_year"), "value": year, "width": "4"],
        ]
        let order = language == .english ? ["month", "day", "year"] : ["day", "month", "year"]
        return order.compactMap { name in
            guard var box = boxes[name] else { return nil }
            if birth { box["autocomplete"] = "bday-\(name)" }
            return box
        }
    }

    /// A date answer from its three boxes (or one `answer` in YYYY-MM-DD): the day, or what is missing in words.
    func dateAnswer(_ form: [String: String], field: CaseField, request: Request) -> (raw: String, missing: String?) {
        let names = ["day", "month", "year"]
        let parts = names.map { (form["answer-\($0)"] ?? "").trimmingCharacters(in: .whitespaces) }
        guard names.contains(where: { form["answer-\($0)"] != nil }) else {
            return ((form["answer"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines), nil)
        }
        if parts.allSatisfy(\.isEmpty) { return ("", nil) }
        let missing = zip(names, parts).filter { $0.1.isEmpty }.map { t(request, "cases_date_part_\($0.0)") }
        let raw = "\(parts[2])-\(parts[1])-\(parts[0])"
        if !missing.isEmpty {
            return (raw, t(request, "cases_date_missing", ["label": field.label, "parts": missing.joined(separator: t(request, "and_word"))]))
        }
        guard let day = Int(parts[0]), let month = Int(parts[1]), let year = Int(parts[2]), parts[2].count == 4 else {
            if Int(parts[2]) != nil, parts[2].count != 4 { return (raw, t(request, "cases_date_year_digits", ["label": field.label])) }
            return (raw, t(request, "cases_date_unreal", ["label": field.label]))
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        // The boxes' own words for a day that does not exist (31 February), in the order the page asks for them.
        guard (1...12).contains(month), let date = calendar.date(from: DateComponents(year: year, month: month, day: day)),
            calendar.component(.day, from: date) == day
        else { return (raw, t(request, "cases_date_unreal", ["label": field.label])) }
        return (String(format: "%04d-%02d-%02d", year, month, day), nil)
    }
}
