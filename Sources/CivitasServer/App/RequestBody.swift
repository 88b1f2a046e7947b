import Hummingbird
import NIOCore

/// How every reader takes a request's body: more than `limit` bytes is "too large" (413), and a body the HTTP layer
/// cannot read (a chunk size that is not hex, a connection cut short) is "malformed" (400), never a 500. Each
/// interface words the failure its own way (Open311 errors, problem+json, a page).
enum RequestBody {
    enum Failure: Error, Equatable {
        case tooLarge(limit: Int)
        case malformed
    }

    static func collect(_ request: Request, upTo limit: Int) async throws(Failure) -> ByteBuffer {
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw .tooLarge(limit: limit)
        } catch {
            throw .malformed
        }
    }

    static let malformedText = "The request body could not be read (its framing is broken); send it again."
}
