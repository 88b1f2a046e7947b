import CivitasCore
import CivitasStore
import Crypto
import Foundation
import HTTPTypes
import Hummingbird

enum CaseAccess {
    static func caller(_ actor: Actor) -> CaseCaller? {
        switch actor {
        case .anonymous: nil
        case .resident(let id, _): CaseCaller(actor: .applicant, name: actor.auditName, userID: id)
        case .staff(let id, _, let role, _, _): CaseCaller(actor: .role(role.rawValue), name: actor.auditName, userID: id)
        case .partner: CaseCaller(actor: .partner, name: actor.auditName)
        }
    }

    static func target(_ found: CaseRecord) -> PermissionTarget {
        .record(jurisdictionID: found.jurisdictionID, department: found.department, residentID: found.applicantID)
    }

    /// One version of a case's document as a download, or nil when the case has no such document. A read by staff
    /// or a partner (`reader`) is written to the audit chain first, with the document's type.
    static func documentFile(
        _ found: CaseRecord, documentID: String?, stores: Stores, reader: (actor: String, purpose: String?, source: String?)?
    ) async throws -> Response? {
        guard let documentID = documentID.flatMap(Int64.init),
            let document = try await stores.cases.documents(of: found.id).first(where: { $0.id == documentID }),
            let media = try await stores.media.find(id: document.mediaID)
        else { return nil }
        if let reader {
            try await stores.audit.append(
                AuditEvent(
                    actor: reader.actor, action: "case.read_document", subject: "case:\(found.id)", person: found.applicantID.map { "user:\($0)" },
                    fields: [document.type], purpose: reader.purpose, source: reader.source),
                jurisdictionID: found.jurisdictionID)
        }
        let suffix = media.contentType == "application/pdf" ? "pdf" : media.contentType == "image/png" ? "png" : "jpg"
        return Response(
            status: .ok,
            headers: [
                .contentType: media.contentType, .cacheControl: "private, no-store",
                .contentDisposition: "attachment; filename=\"\(document.type)-v\(document.version).\(suffix)\"",
            ],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: media.bytes)))
    }

    static func departments(_ actor: Actor) -> [String] {
        switch actor {
        case .staff(_, _, _, let departments, _), .partner(_, _, _, let departments):
            if case .only(let names) = departments { return names.sorted() }
            return ["*"]
        default: return []
        }
    }
}
