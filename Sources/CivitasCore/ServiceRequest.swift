import Foundation

/// Whether a service request still needs work, as Open311 says it.
public enum RequestStatus: String, Sendable, Codable, CaseIterable {
    case open
    case closed
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

    public init(
        id: Int64, jurisdictionID: String, serviceCode: String, serviceName: String, status: RequestStatus,
        statusNotes: String? = nil, description: String? = nil, agencyResponsible: String? = nil,
        serviceNotice: String? = nil, requestedAt: Date, updatedAt: Date, expectedAt: Date? = nil,
        location: RequestLocation, mediaURL: String? = nil, attributes: [String: [String]] = [:],
        reporter: Reporter = Reporter()
    ) {
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
