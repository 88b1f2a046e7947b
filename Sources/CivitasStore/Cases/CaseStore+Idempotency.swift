import CivitasCore
import Foundation
import SQLKit

/// Idempotency keys for partners' retries.
extension CaseStore {
    // MARK: Idempotency

    /// Runs `work` once per caller and key: a retry with the same key and the same request gets the first answer;
    /// the same key with a different request is refused. The key is kept in the same transaction as the work, so a
    /// crash leaves either both or neither.
    public func idempotent(
        caller: String, key: String, fingerprint: String, jurisdictionID: String, now: Date = Date(),
        work: @escaping @Sendable (any SQLDatabase) async throws -> (status: Int, body: String)
    ) async throws -> (status: Int, body: String, replayed: Bool) {
        guard (16...100).contains(key.count), key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            throw CivitasError.invalid(
                "idempotency_key_invalid", "Send an Idempotency-Key of 16 to 100 letters, digits, - or _.", field: "Idempotency-Key")
        }
        @Sendable func stored(_ sql: any SQLDatabase) async throws -> (status: Int, body: String, replayed: Bool)? {
            guard
                let row = try await sql.select().columns("fingerprint", "status", "body").from("idempotency_keys")
                    .where("jurisdiction_id", .equal, jurisdictionID).where("caller", .equal, caller).where("key", .equal, key).first()
            else { return nil }
            guard try row.decode(column: "fingerprint", as: String.self) == fingerprint else {
                throw CivitasError(
                    .unprocessable, code: "idempotency_key_reused", message: "This Idempotency-Key was used for a different request.",
                    field: "Idempotency-Key")
            }
            return (try row.decode(column: "status", as: Int.self), try row.decode(column: "body", as: String.self), true)
        }
        if let earlier = try await database.read({ try await stored($0) }) { return earlier }
        do {
            return try await database.transaction { sql in
                if let earlier = try await stored(sql) { return earlier }
                let (status, body) = try await work(sql)
                try await sql.insert(into: "idempotency_keys").columns(
                    "jurisdiction_id", "caller", "key", "fingerprint", "status", "body", "created_at"
                )
                .values(
                    SQLBind(jurisdictionID), SQLBind(caller), SQLBind(key), SQLBind(fingerprint), SQLBind(status), SQLBind(body),
                    SQLBind(Clock.millis(now))
                )
                .run()
                return (status, body, false)
            }
        } catch let error as CivitasError {
            throw error
        } catch {
            // Two identical requests at once on PostgreSQL: the second's insert of the key fails and its work is rolled
            // back; it answers with the first one's result.
            if let earlier = try await database.read({ try await stored($0) }) { return earlier }
            throw error
        }
    }
}
