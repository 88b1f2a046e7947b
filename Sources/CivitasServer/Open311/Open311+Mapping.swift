import CivitasCore
import CivitasStore
import Foundation

/// How Civitas's domain types look in Open311 GeoReport v2 responses, field for field in the spec's order.
enum Open311Mapping {
    static func services(_ services: [ServiceDefinition]) -> Open311Node {
        .list(
            item: "service",
            services.map { service in
                .element([
                    ("service_code", .text(service.code)),
                    ("service_name", .text(service.name)),
                    ("description", .text(service.description)),
                    ("metadata", .bool(service.hasMetadata)),
                    ("type", .text(service.type.rawValue)),
                    ("keywords", .text(service.keywords.joined(separator: ", "))),
                    ("group", .text(service.group)),
                ])
            })
    }

    static func definition(_ service: ServiceDefinition) -> Open311Node {
        .element([
            ("service_code", .text(service.code)),
            (
                "attributes",
                .list(
                    item: "attribute",
                    service.orderedAttributes.map { attribute in
                        .element([
                            ("variable", .bool(attribute.variable)),
                            ("code", .text(attribute.code)),
                            ("datatype", .text(attribute.datatype.rawValue)),
                            ("required", .bool(attribute.required)),
                            ("datatype_description", .text(attribute.datatypeDescription)),
                            ("order", .integer(attribute.order)),
                            ("description", .text(attribute.description)),
                            (
                                "values",
                                .list(
                                    item: "value",
                                    attribute.values.map { .element([("key", .text($0.key)), ("name", .text($0.name))]) })
                            ),
                        ])
                    })
            ),
        ])
    }

    static func requests(_ requests: [ServiceRequest], timeZone: TimeZone) -> Open311Node {
        .list(item: "request", requests.map { request($0, timeZone: timeZone) })
    }

    static func request(_ request: ServiceRequest, timeZone: TimeZone) -> Open311Node {
        func date(_ value: Date?) -> Open311Node { .text(value.map { W3CDateTime.format($0, timeZone: timeZone) }) }
        return .element([
            ("service_request_id", .text(String(request.id))),
            ("status", .text(request.status.rawValue)),
            ("status_notes", .text(request.statusNotes)),
            ("service_name", .text(request.serviceName)),
            ("service_code", .text(request.serviceCode)),
            ("description", .text(request.description)),
            ("agency_responsible", .text(request.agencyResponsible)),
            ("service_notice", .text(request.serviceNotice)),
            ("requested_datetime", date(request.requestedAt)),
            ("updated_datetime", date(request.updatedAt)),
            ("expected_datetime", date(request.expectedAt)),
            ("address", .text(request.location.address)),
            ("address_id", .text(request.location.addressID)),
            ("zipcode", .text(request.location.zipcode)),
            ("lat", .number(request.location.latitude)),
            ("long", .number(request.location.longitude)),
            ("media_url", .text(request.mediaURL)),
        ])
    }

    /// The answer to a POST: the new id (realtime), a token (batch), or neither (blackbox).
    static func created(id: Int64?, token: String?, notice: String?, accountID: String?) -> Open311Node {
        var fields: [(String, Open311Node)] = []
        if let id { fields.append(("service_request_id", .text(String(id)))) }
        if let token { fields.append(("token", .text(token))) }
        fields.append(("service_notice", .text(notice)))
        fields.append(("account_id", .text(accountID)))
        return .list(item: "request", [.element(fields)])
    }

    static func token(_ token: RequestToken) -> Open311Node {
        .list(
            item: "request",
            [
                .element([
                    ("service_request_id", .text(token.serviceRequestID.map { String($0) })),
                    ("token", .text(token.token)),
                ])
            ])
    }

    static func errors(_ errors: [(code: Int, description: String)]) -> Open311Node {
        .list(
            item: "error",
            errors.map { .element([("code", .integer($0.code)), ("description", .text($0.description))]) })
    }

    static func discovery(baseURL: String, changeset: String, contact: String) -> Open311Node {
        .element([
            ("changeset", .text(changeset)),
            ("contact", .text(contact)),
            ("key_service", .text("Ask the city's 311 team for an API key; administrators create one with `civitas apikey create`.")),
            (
                "endpoints",
                .list(
                    item: "endpoint",
                    [
                        .element([
                            ("specification", .text("http://wiki.open311.org/GeoReport_v2")),
                            ("url", .text(baseURL)),
                            ("changeset", .text(changeset)),
                            ("type", .text("production")),
                            ("formats", .list(item: "format", [.text("text/xml"), .text("application/json")])),
                        ])
                    ])
            ),
        ])
    }
}
