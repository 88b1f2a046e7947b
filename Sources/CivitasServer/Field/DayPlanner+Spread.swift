import CivitasRouting
import Foundation

extension DayPlanner {
    /// The routing solver uses as few vehicles as it can; a dispatcher wants the day's work spread over the crews on
    /// shift, who are paid for the day either way. When everything was planned and some crew that could work has
    /// none, the day is planned again with each crew's shift cut to a fair share of the work (the busy time divided
    /// among the crews, with a quarter and half an hour to spare for driving from its own yard); that plan is kept
    /// when it still does everything and gives work to more crews. Nothing else about the plan changes.
    func spread(_ problem: RoutingProblem, _ first: RoutingSolution) -> RoutingSolution {
        let crews = problem.fleet.count
        guard crews > 1, first.vehicles < crews, first.violations.isEmpty else { return first }
        let busy = first.schedules(in: problem).reduce(0.0) { $0 + ($1.returnTime - $1.departure) }
        let share = busy / Double(crews) * 1.25 + 30 * 60
        var even = problem
        even.fleet = problem.fleet.map { vehicle in
            var vehicle = vehicle
            vehicle.shiftEnd = min(vehicle.shiftEnd, vehicle.shiftStart + share)
            return vehicle
        }
        let spread = RoutingSolver.solve(even, options: options)
        return spread.violations.isEmpty && spread.vehicles > first.vehicles ? spread : first
    }
}
