import CivitasCore
import Foundation
import Hummingbird
import NIOCore

/// The stylesheet and other files under Resources/static, served from memory at /assets.
struct StaticAssets: Sendable {
    let files: [String: (type: String, bytes: ByteBuffer)]

    init() {
        var files: [String: (type: String, bytes: ByteBuffer)] = [:]
        if let folder = Bundle.module.url(forResource: "static", withExtension: nil, subdirectory: "Resources"),
            let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path)
        {
            for name in names {
                guard let data = try? Data(contentsOf: folder.appendingPathComponent(name)) else { continue }
                let type =
                    switch (name as NSString).pathExtension {
                    case "css": "text/css; charset=utf-8"
                    case "js": "text/javascript; charset=utf-8"
                    case "svg": "image/svg+xml"
                    default: "application/octet-stream"
                    }
                files[name] = (type, ByteBuffer(bytes: data))
            }
        }
        self.files = files
    }

    func addRoutes(to router: Router<CivitasRequestContext>) {
        router.get("assets/:name") { _, context -> Response in
            guard let name = context.parameters.get("name"), let file = files[name] else { throw HTTPError(.notFound) }
            return Response(
                status: .ok, headers: [.contentType: file.type, .cacheControl: "public, max-age=3600"],
                body: ResponseBody(byteBuffer: file.bytes))
        }
    }
}
