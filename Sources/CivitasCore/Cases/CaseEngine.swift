import Foundation

/// A case as the workflow sees it: where it is, whose queue, the answers, the documents it has.
public struct CaseSnapshot: Sendable, Equatable {
    public var state: String
    public var queue: String
    public var data: [String: JSONValue]
    public var documents: Set<String>
    public var stateEnteredAt: Date

    public init(state: String, queue: String, data: [String: JSONValue], documents: Set<String>, stateEnteredAt: Date) {
        self.state = state
        self.queue = queue
        self.data = data
        self.documents = documents
        self.stateEnteredAt = stateEnteredAt
    }
}

/// What happened to a case, in order, for its timeline and for partners' webhooks.
public enum CaseEffect: Sendable, Equatable {
    case moved(transition: String, from: String, to: String, actor: String, reason: String?)
    case decided(CaseDecision)
    case routed(queue: String, automation: String)
    case reminded(message: String, automation: String)
}

/// A transition that may not be taken, with every reason.
public struct CaseRefusal: Error, Sendable {
    public var problems: [String]
    public var message: String { problems.joined(separator: " ") }
}

extension CaseType {
    /// Takes a transition: checks who and the guards, moves the case, keeps the decisions, then runs the automations
    /// of the state it enters (which may route it, remind, or move it on; at most 8 automatic moves in a row).
    public func take(
        _ key: String, by actor: CaseActor, actorName: String, on snapshot: CaseSnapshot, reason: String?, now: Date
    ) throws(CaseRefusal) -> (CaseSnapshot, [CaseEffect]) {
        guard let transition = transition(key) else {
            throw CaseRefusal(problems: ["This kind of case has no step \u{201C}\(key)\u{201D}."])
        }
        let check = check(transition, from: snapshot.state, by: actor, data: snapshot.data, documents: snapshot.documents, reason: reason, now: now)
        guard check.allowed else { throw CaseRefusal(problems: check.problems) }
        var current = snapshot
        var effects: [CaseEffect] = check.decisions.map { .decided($0) }
        effects.append(.moved(transition: key, from: current.state, to: transition.to, actor: actorName, reason: reason))
        current.state = transition.to
        current.stateEnteredAt = now
        enter(&current, effects: &effects, now: now, depth: 0)
        return (current, effects)
    }

    /// The automations that fire on entering the case's current state, in the file's order.
    func enter(_ current: inout CaseSnapshot, effects: inout [CaseEffect], now: Date, depth: Int) {
        guard depth < 8 else { return }
        let entered = current.state
        for automation in automations {
            guard case .entering(let state) = automation.trigger, state == entered, current.state == entered else { continue }
            if let condition = automation.condition {
                let holds = (try? condition.evaluate(expressionValues(current.data, documents: current.documents), now: now).passed) ?? false
                if !holds { continue }
            }
            // A step taken moves the case on; the automations of the state it left no longer apply.
            if run(automation, on: &current, effects: &effects, now: now, depth: depth) { return }
        }
    }

    /// Runs an automation's actions in order: routing, reminders, and its step (when the guards allow an automatic
    /// one), after which the automations of the state entered run. Returns whether the case moved.
    func run(_ automation: Automation, on current: inout CaseSnapshot, effects: inout [CaseEffect], now: Date, depth: Int) -> Bool {
        for action in automation.actions {
            switch action {
            case .routeTo(let queue):
                current.queue = queue
                effects.append(.routed(queue: queue, automation: automation.name))
            case .remind(let message):
                effects.append(.reminded(message: message, automation: automation.name))
            case .transition(let key):
                guard let transition = transition(key),
                    check(transition, from: current.state, by: .automatic, data: current.data, documents: current.documents, reason: nil, now: now)
                        .allowed
                else { continue }
                effects.append(.moved(transition: key, from: current.state, to: transition.to, actor: "automation: \(automation.name)", reason: nil))
                current.state = transition.to
                current.stateEnteredAt = now
                enter(&current, effects: &effects, now: now, depth: depth + 1)
                return true
            }
        }
        return false
    }

    /// The timer automations due for a case now ("after 14 days in waiting_on_applicant"), leaving out those that
    /// already fired during this stay in the state.
    public func dueTimers(_ snapshot: CaseSnapshot, now: Date, fired: Set<String>) -> [Automation] {
        automations.filter { automation in
            guard case .after(let state, let level) = automation.trigger, state == snapshot.state, !fired.contains(automation.name) else {
                return false
            }
            guard calendar.deadline(level, from: snapshot.stateEnteredAt) <= now else { return false }
            guard let condition = automation.condition else { return true }
            return (try? condition.evaluate(expressionValues(snapshot.data, documents: snapshot.documents), now: now).passed) ?? false
        }
    }

    /// Runs one timer automation: its reminders and routing, and its transition (then the automations of the state
    /// entered).
    public func fire(_ automation: Automation, on snapshot: CaseSnapshot, now: Date) -> (CaseSnapshot, [CaseEffect]) {
        var current = snapshot
        var effects: [CaseEffect] = []
        _ = run(automation, on: &current, effects: &effects, now: now, depth: 0)
        return (current, effects)
    }

    /// When the case's current state is due, by its service level and the agency's calendar.
    public func due(_ snapshot: CaseSnapshot) -> Date? {
        state(snapshot.state)?.serviceLevel.map { calendar.deadline($0, from: snapshot.stateEnteredAt) }
    }

    /// Is a case in this state work for staff (in a queue to pull), rather than a draft, waiting on the applicant, or done?
    public func isWork(_ state: String) -> Bool {
        guard let found = self.state(state) else { return false }
        return !found.final && !found.waitingOnApplicant && found.key != initialState.key
    }
}
