import Foundation

/// The mails residents get about requests they reported or follow, in their language.
public enum RequestNotice {
    public struct Mail: Sendable, Equatable {
        public var subject: String
        public var body: String
    }

    /// A public change: the status, and the note staff wrote for the public (if any).
    public static func statusChanged(
        site: String, requestID: Int64, serviceName: String, status: RequestStatus, note: String?, link: String,
        unsubscribe: String, language: Language
    ) -> Mail {
        switch language {
        case .english:
            let headline = status == .closed ? "Your request \(requestID) is closed" : "Your request \(requestID) was updated"
            var body = "Hello,\n\n"
            body +=
                status == .closed
                ? "The \(serviceName) request \(requestID) you reported or follow is now closed.\n"
                : "There is news about the \(serviceName) request \(requestID) you reported or follow. It is open.\n"
            if let note, !note.isEmpty { body += "\nWhat the team says:\n\(note)\n" }
            body += "\nSee the request and its history: \(link)\n"
            body += "\nTo stop getting mail about this request: \(unsubscribe)\n\n\(site)\n"
            return Mail(subject: "\(headline) – \(site)", body: body)
        case .spanish:
            let headline = status == .closed ? "Su solicitud \(requestID) está cerrada" : "Su solicitud \(requestID) tiene novedades"
            var body = "Hola:\n\n"
            body +=
                status == .closed
                ? "La solicitud \(requestID) de \(serviceName) que usted reportó o sigue ya está cerrada.\n"
                : "Hay novedades sobre la solicitud \(requestID) de \(serviceName) que usted reportó o sigue. Sigue abierta.\n"
            if let note, !note.isEmpty { body += "\nLo que dice el equipo:\n\(note)\n" }
            body += "\nVea la solicitud y su historial: \(link)\n"
            body += "\nPara dejar de recibir correos sobre esta solicitud: \(unsubscribe)\n\n\(site)\n"
            return Mail(subject: "\(headline) – \(site)", body: body)
        }
    }

    /// The report arrived: its reference number, and where to follow it.
    public static func received(
        site: String, requestID: Int64, serviceName: String, link: String, unsubscribe: String, language: Language
    ) -> Mail {
        switch language {
        case .english:
            return Mail(
                subject: "We received your report \(requestID) – \(site)",
                body: """
                    Hello,

                    Thank you for reporting a problem (\(serviceName)). Your reference number is \(requestID).

                    See what happens to it: \(link)
                    We will email you when its status changes.

                    To stop getting mail about it: \(unsubscribe)

                    \(site)

                    """)
        case .spanish:
            return Mail(
                subject: "Recibimos su reporte \(requestID) – \(site)",
                body: """
                    Hola:

                    Gracias por reportar un problema (\(serviceName)). Su número de referencia es \(requestID).

                    Vea lo que pasa con él: \(link)
                    Le escribiremos cuando cambie su estado.

                    Para dejar de recibir correos sobre él: \(unsubscribe)

                    \(site)

                    """)
        }
    }

    /// A time agreed for the crew's visit (someone may need to be there, or put the items out), or that time cancelled.
    public static func appointment(
        site: String, requestID: Int64, serviceName: String, when: String?, link: String, unsubscribe: String, language: Language
    ) -> Mail {
        switch language {
        case .english:
            let news =
                when.map { "We will come for your request \(requestID) (\(serviceName)) on \($0)." }
                ?? "The time we had agreed for your request \(requestID) (\(serviceName)) is cancelled. We will be in touch about a new one."
            return Mail(
                subject: when.map { "Your request \(requestID): we will come on \($0) – \(site)" }
                    ?? "Your request \(requestID): visit time cancelled – \(site)",
                body: "Hello,\n\n\(news)\n\nSee your request: \(link)\n\nTo stop getting mail about it: \(unsubscribe)\n\n\(site)\n")
        case .spanish:
            let news =
                when.map { "Iremos por su solicitud \(requestID) (\(serviceName)) el \($0)." }
                ?? "La hora que habíamos acordado para su solicitud \(requestID) (\(serviceName)) quedó cancelada. Le avisaremos de una nueva."
            return Mail(
                subject: when.map { "Su solicitud \(requestID): iremos el \($0) – \(site)" }
                    ?? "Su solicitud \(requestID): visita cancelada – \(site)",
                body: "Hola:\n\n\(news)\n\nVea su solicitud: \(link)\n\nPara dejar de recibir correos sobre ella: \(unsubscribe)\n\n\(site)\n")
        }
    }

    /// A duplicate merged into another request: its reporters now follow that one.
    public static func merged(
        site: String, requestID: Int64, parentID: Int64, serviceName: String, link: String, unsubscribe: String, language: Language
    ) -> Mail {
        switch language {
        case .english:
            return Mail(
                subject: "Your request \(requestID) is now followed as \(parentID) – \(site)",
                body: """
                    Hello,

                    Your \(serviceName) request \(requestID) is about the same problem as request \(parentID), so we \
                    joined them. You now follow \(parentID) and will hear when it changes.

                    See it here: \(link)

                    To stop getting mail about it: \(unsubscribe)

                    \(site)

                    """)
        case .spanish:
            return Mail(
                subject: "Su solicitud \(requestID) ahora se sigue como \(parentID) – \(site)",
                body: """
                    Hola:

                    Su solicitud \(requestID) de \(serviceName) trata del mismo problema que la solicitud \(parentID), \
                    así que las unimos. Ahora usted sigue la \(parentID) y sabrá cuando cambie.

                    Véala aquí: \(link)

                    Para dejar de recibir correos sobre ella: \(unsubscribe)

                    \(site)

                    """)
        }
    }
}
