import CivitasCore
import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Case pages. Residents: apply (one question per page, saved as they go, so they can come back later), check and
/// send, then follow their cases: status, what is needed from them and by when, decisions explained, documents,
/// messages. Staff: their cases and the next one from the queue, a case's answers, documents, decisions and timeline
/// with the steps they may take, queue health and bulk reassignment for supervisors, and each type as a diagram.
struct CaseWebController: StaffPageController {
    let staff: StaffController

    func addRoutes(to root: Router<CivitasRequestContext>) {
        let router = pageRoutes(root)
        router.get("cases", use: catalogPage)
        router.get("cases/:type", use: startPage)
        router.post("cases/:type/start", use: start)
        router.get("my/cases", use: myCases)
        router.get("my/cases/:id", use: myCase)
        router.get("my/cases/:id/questions/:field", use: question)
        router.post("my/cases/:id/questions/:field", use: answer)
        router.get("my/cases/:id/check", use: check)
        router.get("my/cases/:id/sent", use: sentPage)
        router.post("my/cases/:id/steps", use: applicantStep)
        router.post("my/cases/:id/documents", use: applicantUpload)
        router.post("my/cases/:id/messages", use: applicantMessage)
        router.get("my/cases/:id/documents/:document", use: applicantDocument)
        router.get("staff/cases", use: staffCases)
        router.post("staff/cases/next", use: next)
        router.post("staff/cases/assign", use: bulkAssign)
        router.post("staff/cases/open", use: staffOpen)
        router.get("staff/cases/:id/answers", use: staffAnswers)
        router.post("staff/cases/:id/answers", use: staffSaveAnswers)
        router.get("staff/cases/:id", use: staffCase)
        router.post("staff/cases/:id/steps", use: staffStep)
        router.post("staff/cases/:id/notes", use: staffNote)
        router.post("staff/cases/:id/tasks", use: staffTask)
        router.post("staff/cases/:id/documents", use: staffUpload)
        router.post("staff/cases/:id/tasks/:task/done", use: staffTaskDone)
        router.post("staff/cases/:id/parties", use: staffAddParty)
        router.post("staff/cases/:id/parties/:party/remove", use: staffRemoveParty)
        router.get("staff/cases/:id/documents/:document", use: staffDocument)
        router.get("staff/casetypes", use: typesPage)
        router.post("staff/casetypes", use: importTypePage)
        router.get("staff/casetypes/:key", use: typePage)
    }

    func t(_ request: Request, _ key: String, _ values: [String: String] = [:]) -> String { web.tr(request, key, values) }

    func date(_ value: Date?, _ request: Request) -> String {
        value.map { RequestPagesController.date($0, zone: configuration.jurisdiction.timeZone, language: Catalog.language(of: request)) } ?? ""
    }

    func failure(_ request: Request, _ status: HTTPResponse.Status, _ key: String) -> WebFailure {
        WebFailure(status: status, title: t(request, "cases_title"), message: t(request, key))
    }
}
