import CivitasStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Prometheus

/// What operators and load balancers ask of a process: is it healthy, what are its numbers; and uploaded photos.
struct OperationsController<Context: RequestContext>: Sendable {
    let stores: Stores
    let registry: PrometheusCollectorRegistry

    func addRoutes(to router: Router<Context>) {
        router.get("healthz") { _, _ -> Response in
            let healthy = await stores.database.ping()
            let body = healthy ? #"{"status":"ok"}"# : #"{"status":"unavailable","reason":"the database does not answer"}"#
            return Response(
                status: healthy ? .ok : .serviceUnavailable,
                headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
        }
        router.get("metrics") { _, _ -> Response in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        router.get("media/:id") { _, context -> Response in
            guard let id = context.parameters.get("id"), id.count == 32, id.allSatisfy(\.isHexDigit),
                let media = try await stores.media.findPublic(id: id)
            else { throw HTTPError(.notFound, message: "There is no such photo.") }
            return Response(
                status: .ok,
                headers: [
                    .contentType: media.contentType, .cacheControl: "public, max-age=31536000, immutable",
                    .contentSecurityPolicy: "default-src 'none'; sandbox",
                ],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: media.bytes)))
        }
    }
}
