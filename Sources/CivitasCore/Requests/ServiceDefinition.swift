/// How a service receives requests, as Open311 GeoReport v2 names it.
public enum ServiceType: String, Sendable, Codable, CaseIterable {
    /// Requests get an id at once.
    case realtime
    /// Requests are queued and get an id later; the client gets a token to follow.
    case batch
    /// Requests are accepted but never visible again through the API.
    case blackbox
}

/// The Open311 datatypes an attribute of a service definition can have.
public enum AttributeDatatype: String, Sendable, Codable, CaseIterable {
    case string
    case number
    case datetime
    case text
    case singlevaluelist
    case multivaluelist

    public var isList: Bool { self == .singlevaluelist || self == .multivaluelist }
}

/// One allowed value of a list attribute.
public struct AttributeValue: Sendable, Codable, Equatable {
    public var key: String
    public var name: String

    public init(key: String, name: String) {
        self.key = key
        self.name = name
    }
}

/// A question a service asks about a request (Open311 "attribute" of a service definition).
public struct ServiceAttribute: Sendable, Codable, Equatable {
    /// `false` for informational attributes that take no input.
    public var variable: Bool
    public var code: String
    public var datatype: AttributeDatatype
    public var required: Bool
    public var datatypeDescription: String
    public var order: Int
    public var description: String
    public var values: [AttributeValue]

    public init(
        variable: Bool = true, code: String, datatype: AttributeDatatype, required: Bool = false,
        datatypeDescription: String = "", order: Int, description: String, values: [AttributeValue] = []
    ) {
        self.variable = variable
        self.code = code
        self.datatype = datatype
        self.required = required
        self.datatypeDescription = datatypeDescription
        self.order = order
        self.description = description
        self.values = values
    }

    enum CodingKeys: String, CodingKey {
        case variable, code, datatype, required, order, description, values
        case datatypeDescription = "datatype_description"
    }
}

/// A kind of problem residents can report, with its Open311 description and Civitas routing fields.
public struct ServiceDefinition: Sendable, Codable, Equatable {
    public var code: String
    public var name: String
    public var description: String
    public var type: ServiceType
    public var keywords: [String]
    public var group: String
    public var attributes: [ServiceAttribute]
    /// The department that owns requests of this service (Open311 `agency_responsible`).
    public var department: String?
    /// Hours within which the city aims to close a request; sets `expected_datetime`.
    public var slaHours: Int?
    /// The service's texts in other languages, as the agency supplies them (`localized(_:)` applies them).
    public var translations: [Language: ServiceTranslation] = [:]

    enum CodingKeys: String, CodingKey {
        case code, name, description, type, keywords, group, attributes, department, slaHours
    }

    /// Open311 `metadata`: whether the service has a definition with attributes to fetch.
    public var hasMetadata: Bool { !attributes.isEmpty }

    public init(
        code: String, name: String, description: String = "", type: ServiceType = .realtime, keywords: [String] = [],
        group: String = "", attributes: [ServiceAttribute] = [], department: String? = nil, slaHours: Int? = nil
    ) {
        self.code = code
        self.name = name
        self.description = description
        self.type = type
        self.keywords = keywords
        self.group = group
        self.attributes = attributes
        self.department = department
        self.slaHours = slaHours
    }

    /// Attributes in the order a form should ask them.
    public var orderedAttributes: [ServiceAttribute] {
        attributes.sorted { ($0.order, $0.code) < ($1.order, $1.code) }
    }
}

extension ServiceDefinition {
    /// What the resident is told about timing when they report (Open311 `service_notice`).
    public var notice: String? {
        guard let slaHours else { return nil }
        if slaHours < 48 { return "We aim to deal with this within \(slaHours) hours." }
        return "We aim to deal with this within \(slaHours / 24) days."
    }
}
