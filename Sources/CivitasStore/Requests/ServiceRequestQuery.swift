import CivitasCore
import Foundation
import SQLKit

/// Which service requests to list; every filter is optional except the jurisdiction.
public struct ServiceRequestQuery: Sendable, Equatable {
    public var jurisdictionID: String
    /// When set, only these requests, and every other filter is ignored.
    public var ids: [Int64]?
    public var serviceCodes: [String] = []
    public var statuses: [RequestStatus] = []
    public var requestedFrom: Date?
    public var requestedTo: Date?
    public var limit: Int = 1000
    public var offset: Int = 0
    /// Whether to read who reported each request and their answers. Public channels (Open311) leave it off,
    /// so personal data is not even read for them.
    public var includePrivate = true
    /// The departments the reader may see; requests of others are never returned.
    public var departments: DepartmentScope = .all
    /// Only this department's requests.
    public var department: String?
    /// Only requests inside this box.
    public var area: BoundingBox?
    /// Words that must appear in the description, case-insensitively.
    public var text: String?
    /// Only requests filed by this resident account.
    public var residentID: Int64?
    /// Only requests assigned to this staff member; `.some(nil)` for unassigned ones.
    public var assigneeID: Int64??
    /// Keyset paging: only requests after this one in the listing order (newest first).
    public var after: RequestCursor?
    /// Only requests changed at or after this moment, oldest change first (how a live stream catches up).
    public var changedSince: Date?

    public init(jurisdictionID: String) { self.jurisdictionID = jurisdictionID }
}

/// A box of longitude and latitude.
public struct BoundingBox: Sendable, Equatable {
    public var minLongitude: Double
    public var minLatitude: Double
    public var maxLongitude: Double
    public var maxLatitude: Double

    public init(minLongitude: Double, minLatitude: Double, maxLongitude: Double, maxLatitude: Double) {
        self.minLongitude = minLongitude
        self.minLatitude = minLatitude
        self.maxLongitude = maxLongitude
        self.maxLatitude = maxLatitude
    }

    /// Parses `minLong,minLat,maxLong,maxLat`.
    public static func parse(_ text: String) throws -> BoundingBox {
        let numbers = text.split(separator: ",", omittingEmptySubsequences: false).map {
            Double($0.trimmingCharacters(in: .whitespaces))
        }
        guard numbers.count == 4, let a = numbers[0], let b = numbers[1], let c = numbers[2], let d = numbers[3],
            (-180...180).contains(a), (-180...180).contains(c), (-90...90).contains(b), (-90...90).contains(d), a <= c, b <= d
        else {
            throw CivitasError.invalid(
                "bbox_invalid", "Give the area as minLong,minLat,maxLong,maxLat with the minimums first.", field: "bbox")
        }
        return BoundingBox(minLongitude: a, minLatitude: b, maxLongitude: c, maxLatitude: d)
    }
}

/// Where a page of a listing ended: the last request's time and id, as an opaque token.
public struct RequestCursor: Sendable, Equatable {
    public var requestedAtMillis: Int64
    public var id: Int64

    public init(requestedAtMillis: Int64, id: Int64) {
        self.requestedAtMillis = requestedAtMillis
        self.id = id
    }

    public init(after request: ServiceRequest) {
        self.init(requestedAtMillis: Clock.millis(request.requestedAt), id: request.id)
    }

    public var token: String {
        Data("\(requestedAtMillis).\(id)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    public static func parse(_ token: String) throws -> RequestCursor {
        var base64 = token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard token.count <= 64, let data = Data(base64Encoded: base64), let text = String(data: data, encoding: .utf8) else {
            throw CivitasError.invalid("cursor_invalid", "The cursor is not one this server gave out.", field: "cursor")
        }
        let parts = text.split(separator: ".")
        guard parts.count == 2, let at = Int64(parts[0]), let id = Int64(parts[1]) else {
            throw CivitasError.invalid("cursor_invalid", "The cursor is not one this server gave out.", field: "cursor")
        }
        return RequestCursor(requestedAtMillis: at, id: id)
    }
}

/// What a status change looks like in a request's history.
public struct RequestUpdate: Sendable, Equatable {
    public var status: RequestStatus
    public var note: String?
    public var actor: String
    public var createdAt: Date
}

/// Where a batch submission stands.
public struct RequestToken: Sendable, Equatable {
    public var token: String
    public var serviceRequestID: Int64?
}
