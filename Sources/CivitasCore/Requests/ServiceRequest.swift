import Foundation

/// Whether a service request still needs work, as Open311 says it.
public enum RequestStatus: String, Sendable, Codable, CaseIterable {
    case open
    case closed
}

/// How urgent staff judge a request to be.
public enum RequestPriority: String, Sendable, Codable, CaseIterable {
    case low, normal, high, urgent
}

/// Who reported a request. Every field here is personal data: never logged, never shown publicly.
public struct Reporter: Sendable, Equatable, Codable {
    public var email: String?
    public var deviceID: String?
    public var accountID: String?
    public var firstName: String?
    public var lastName: String?
    public var phone: String?

    public init(
        email: String? = nil, deviceID: String? = nil, accountID: String? = nil, firstName: String? = nil,
        lastName: String? = nil, phone: String? = nil
    ) {
        self.email = email
        self.deviceID = deviceID
        self.accountID = accountID
        self.firstName = firstName
        self.lastName = lastName
        self.phone = phone
    }
}

extension Reporter {
    /// The names of the fields that hold something, as the audit chain lists them.
    public var presentFields: [String] {
        var fields: [String] = []
        if email?.isEmpty == false { fields.append("email") }
        if firstName?.isEmpty == false { fields.append("first_name") }
        if lastName?.isEmpty == false { fields.append("last_name") }
        if phone?.isEmpty == false { fields.append("phone") }
        if deviceID?.isEmpty == false { fields.append("device_id") }
        if accountID?.isEmpty == false { fields.append("account_id") }
        return fields
    }
}

/// Where a problem is: coordinates, an address, or the city's own address id (at least one).
public struct RequestLocation: Sendable, Equatable, Codable {
    public var latitude: Double?
    public var longitude: Double?
    public var address: String?
    public var addressID: String?
    public var zipcode: String?

    public init(
        latitude: Double? = nil, longitude: Double? = nil, address: String? = nil, addressID: String? = nil,
        zipcode: String? = nil
    ) {
        self.latitude = latitude
        self.longitude = longitude
        self.address = address
        self.addressID = addressID
        self.zipcode = zipcode
    }
}

/// A problem reported by a resident (an Open311 service request), as stored and served.
public struct ServiceRequest: Sendable, Equatable {
    public var id: Int64
    public var jurisdictionID: String
    public var serviceCode: String
    public var serviceName: String
    public var status: RequestStatus
    /// The latest public note about the status.
    public var statusNotes: String?
    public var description: String?
    public var agencyResponsible: String?
    public var serviceNotice: String?
    public var requestedAt: Date
    public var updatedAt: Date
    public var expectedAt: Date?
    public var location: RequestLocation
    public var mediaURL: String?
    /// Answers to the service's attributes, by attribute code; list attributes may have several.
    public var attributes: [String: [String]]
    public var reporter: Reporter
    public var priority: RequestPriority = .normal
    /// The staff member working it, if anyone.
    public var assigneeID: Int64?
    /// The resident account that filed it, if they were signed in.
    public var residentID: Int64?

    /// Whose personal data this request holds, as the audit chain names them: the account, else the email address.
    public var person: String? {
        if let residentID { return "user:\(residentID)" }
        if let email = reporter.email, !email.isEmpty { return "email:" + email.lowercased() }
        return nil
    }

    public init(
        id: Int64, jurisdictionID: String, serviceCode: String, serviceName: String, status: RequestStatus,
        statusNotes: String? = nil, description: String? = nil, agencyResponsible: String? = nil,
        serviceNotice: String? = nil, requestedAt: Date, updatedAt: Date, expectedAt: Date? = nil,
        location: RequestLocation, mediaURL: String? = nil, attributes: [String: [String]] = [:],
        reporter: Reporter = Reporter(), priority: RequestPriority = .normal, assigneeID: Int64? = nil, residentID: Int64? = nil
    ) {
        self.priority = priority
        self.assigneeID = assigneeID
        self.residentID = residentID
        self.id = id
        self.jurisdictionID = jurisdictionID
        self.serviceCode = serviceCode
        self.serviceName = serviceName
        self.status = status
        self.statusNotes = statusNotes
        self.description = description
        self.agencyResponsible = agencyResponsible
        self.serviceNotice = serviceNotice
        self.requestedAt = requestedAt
        self.updatedAt = updatedAt
        self.expectedAt = expectedAt
        self.location = location
        self.mediaURL = mediaURL
        self.attributes = attributes
        self.reporter = reporter
    }
}
