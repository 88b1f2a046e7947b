import Foundation

/// A resident's report that passed every check and is ready to be stored.
public struct NewServiceRequest: Sendable, Equatable, Codable {
    public var serviceCode: String
    public var description: String?
    public var location: RequestLocation
    public var mediaURL: String?
    public var attributes: [String: [String]]
    public var reporter: Reporter

    public init(
        serviceCode: String, description: String? = nil, location: RequestLocation, mediaURL: String? = nil,
        attributes: [String: [String]] = [:], reporter: Reporter = Reporter()
    ) {
        self.serviceCode = serviceCode
        self.description = description
        self.location = location
        self.mediaURL = mediaURL
        self.attributes = attributes
        self.reporter = reporter
    }

    /// Longest description Open311 clients may send.
    public static let maximumDescriptionLength = 4000

    /// Checks an Open311 submission against the service it is for, and returns every problem at once.
    public static func validate(
        _ parameters: Open311Parameters, service: ServiceDefinition, mediaURL uploadedMediaURL: String? = nil
    ) -> Result<NewServiceRequest, ValidationFailures> {
        var errors: [CivitasError] = []

        var location = RequestLocation(
            address: parameters["address_string"].map(clean), addressID: parameters["address_id"].map(clean),
            zipcode: parameters["zipcode"].map(clean)
        )
        let latText = parameters["lat"]
        let longText = parameters["long"]
        switch (latText, longText) {
        case (nil, nil):
            break
        case (let lat?, let long?):
            if let latitude = Double(lat.trimmingWhitespace()), latitude.isFinite, (-90...90).contains(latitude) {
                location.latitude = latitude
            } else {
                errors.append(.invalid("lat_invalid", "lat must be a latitude in decimal degrees, between -90 and 90.", field: "lat"))
            }
            if let longitude = Double(long.trimmingWhitespace()), longitude.isFinite, (-180...180).contains(longitude) {
                location.longitude = longitude
            } else {
                errors.append(.invalid("long_invalid", "long must be a longitude in decimal degrees, between -180 and 180.", field: "long"))
            }
        case (nil, _?):
            errors.append(.invalid("lat_missing", "lat was not provided; send lat together with long.", field: "lat"))
        case (_?, nil):
            errors.append(.invalid("long_missing", "long was not provided; send long together with lat.", field: "long"))
        }
        if latText == nil, longText == nil, location.address == nil, location.addressID == nil {
            errors.append(
                .invalid(
                    "location_missing", "A location is required: send lat and long, address_string or address_id.",
                    field: "lat"))
        }

        let description = parameters["description"]
        if let description, description.unicodeScalars.count > maximumDescriptionLength {
            errors.append(
                .invalid(
                    "description_too_long",
                    "description is \(description.unicodeScalars.count) characters long; the limit is \(maximumDescriptionLength).",
                    field: "description"))
        }

        for (name, limit) in [
            ("first_name", 200), ("last_name", 200), ("phone", 50), ("device_id", 200), ("account_id", 200),
            ("address_string", 1000), ("address_id", 100), ("zipcode", 20), ("media_url", 2048),
        ] {
            if let value = parameters[name], value.unicodeScalars.count > limit {
                errors.append(.invalid("\(name)_too_long", "\(name) must be at most \(limit) characters.", field: name))
            }
        }

        let email = parameters["email"].map(clean)
        if let email, !isPlausibleEmail(email) {
            errors.append(.invalid("email_invalid", "email is not a valid email address.", field: "email"))
        }

        var mediaURL = uploadedMediaURL
        if mediaURL == nil, let given = parameters["media_url"].map(clean) {
            if given.count <= 2048, let url = URL(string: given), let scheme = url.scheme?.lowercased(),
                scheme == "http" || scheme == "https", url.host != nil
            {
                mediaURL = given
            } else {
                errors.append(.invalid("media_url_invalid", "media_url must be an http or https address.", field: "media_url"))
            }
        }

        var answers: [String: [String]] = [:]
        for attribute in service.orderedAttributes where attribute.variable {
            let given = (parameters.attributes[attribute.code] ?? []).map(clean).filter { !$0.isEmpty }
            let name = "attribute[\(attribute.code)]"
            if given.isEmpty {
                if attribute.required {
                    errors.append(
                        .invalid(
                            "attribute_required", "\(name) is required: \(attribute.description)", field: name))
                }
                continue
            }
            if let problem = check(given, against: attribute, name: name) {
                errors.append(problem)
                continue
            }
            answers[attribute.code] = given
        }

        if !errors.isEmpty { return .failure(ValidationFailures(errors)) }
        let reporter = Reporter(
            email: email, deviceID: parameters["device_id"].map(clean), accountID: parameters["account_id"].map(clean),
            firstName: parameters["first_name"].map(clean), lastName: parameters["last_name"].map(clean),
            phone: parameters["phone"].map(clean)
        )
        return .success(
            NewServiceRequest(
                serviceCode: service.code, description: description, location: location, mediaURL: mediaURL,
                attributes: answers, reporter: reporter))
    }

    private static func check(_ values: [String], against attribute: ServiceAttribute, name: String) -> CivitasError? {
        switch attribute.datatype {
        case .string, .text:
            let limit = attribute.datatype == .string ? 1000 : 4000
            if values.contains(where: { $0.unicodeScalars.count > limit }) {
                return .invalid("attribute_too_long", "\(name) must be at most \(limit) characters.", field: name)
            }
            return values.count > 1
                ? .invalid("attribute_single_value", "\(name) takes one value.", field: name) : nil
        case .number:
            guard values.count == 1, let number = Double(values[0]), number.isFinite else {
                return .invalid("attribute_not_a_number", "\(name) must be a number.", field: name)
            }
            return nil
        case .datetime:
            guard values.count == 1, isDateTime(values[0]) else {
                return .invalid(
                    "attribute_not_a_datetime", "\(name) must be a date and time such as 2026-11-23T14:30:00-05:00.",
                    field: name)
            }
            return nil
        case .singlevaluelist, .multivaluelist:
            if attribute.datatype == .singlevaluelist, values.count > 1 {
                return .invalid("attribute_single_value", "\(name) takes one value.", field: name)
            }
            let keys = Set(attribute.values.map(\.key))
            if let wrong = values.first(where: { !keys.contains($0) }) {
                let allowed = attribute.values.map(\.key).joined(separator: ", ")
                return .invalid(
                    "attribute_value_not_allowed", "\(name) cannot be \"\(wrong)\"; allowed values are: \(allowed).",
                    field: name)
            }
            if Set(values).count != values.count {
                return .invalid("attribute_value_repeated", "\(name) lists the same value twice.", field: name)
            }
            return nil
        }
    }

    private static func clean(_ value: String) -> String { value.trimmingWhitespace() }

    /// A W3C date-time, or a short local date as phone date pickers send it (GeoReporter posts `5/1/24` or
    /// `01.05.2024`); the answer is kept as given.
    static func isDateTime(_ value: String) -> Bool {
        if W3CDateTime.parse(value) != nil { return true }
        let parts = value.split(whereSeparator: { $0 == "/" || $0 == "." || $0 == "-" })
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
            let a = Int(parts[0]), let b = Int(parts[1]), let c = Int(parts[2])
        else { return false }
        if parts[0].count == 4 { return (1...12).contains(b) && (1...31).contains(c) }
        guard parts[2].count == 2 || parts[2].count == 4, c >= 0 else { return false }
        // Month/day order differs by locale: accept either reading when it is a real day of a month.
        return ((1...12).contains(a) && (1...31).contains(b)) || ((1...31).contains(a) && (1...12).contains(b))
    }

    public static func isPlausibleEmail(_ email: String) -> Bool {
        // Unicode scalars, not characters: a combining mark after `@` must not hide it, and lengths are counted as
        // JSON Schema counts them (the OpenAPI document states the same rule as a pattern).
        let scalars = email.unicodeScalars
        guard scalars.count <= 254, !scalars.contains(where: \.properties.isWhitespace) else { return false }
        let parts = scalars.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, let first = parts[1].first, let last = parts[1].last else { return false }
        return parts[1].contains(".") && first != "." && last != "."

    }
}

/// Every problem found in one piece of input, reported together.
public struct ValidationFailures: Error, Sendable, Equatable {
    public let errors: [CivitasError]
    public init(_ errors: [CivitasError]) { self.errors = errors }
}
