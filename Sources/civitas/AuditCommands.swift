import ArgumentParser
import CivitasCore
import CivitasServer
import CivitasStore
import Foundation

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check and read the tamper-evident audit chain.",
        subcommands: [Verify.self, Export.self, Checkpoint.self, Keygen.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Walk the chain; name the first entry that was edited, deleted or reordered (exit 1 if any).")
        @Flag(help: "Check every jurisdiction's chain, not only the configured one.") var all = false
        @Option(help: "A file of signed checkpoints (`audit checkpoint --to`): also name a chain cut short or rewritten since.")
        var checkpoints: String?
        @Option(help: "The public key that signed the checkpoints (default: AUDIT_PUBLIC_KEY, or the one of AUDIT_SIGNING_KEY).")
        var publicKey: String?
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let (all, file, given) = (all, checkpoints, publicKey)
            let ok = try await withStores(options) { configuration, stores, _ in
                let jurisdiction = all ? nil : configuration.jurisdiction.id
                var (ok, report) = try await Commands.verifyAudit(stores: stores, jurisdictionID: jurisdiction)
                if let file {
                    let key = try given ?? Commands.auditPublicKey(configuration.audit)
                    let (held, lines) = try await Commands.verifyCheckpoints(
                        stores: stores, file: file, publicKey: key, jurisdictionID: jurisdiction)
                    ok = ok && held
                    report += lines
                }
                for line in report { print(line) }
                return ok
            }
            if !ok { throw ExitCode.failure }
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print every access to one person's data, one JSON object per line, oldest first.")
        @Option(help: "The person: a user id, user:ID, an email address, or email:ADDRESS.") var person: String
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let person = person
            try await withStores(options) { configuration, stores, _ in
                for line in try await Commands.exportAudit(person: person, stores: stores, jurisdictionID: configuration.jurisdiction.id) {
                    print(line)
                }
            }
        }
    }

    struct Checkpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Append a signed checkpoint of each chain's head to a file kept outside the database.",
            discussion: "The key comes from AUDIT_SIGNING_KEY or --key-file. The server does the same at an interval when "
                + "AUDIT_CHECKPOINT_FILE and AUDIT_SIGNING_KEY are set.")
        @Option(help: "The file to append to (created if missing).") var to: String
        @Option(help: "A file holding the signing key (base64), instead of AUDIT_SIGNING_KEY.") var keyFile: String?
        @OptionGroup var options: DatabaseOptions

        func run() async throws {
            let (file, keyFile) = (to, keyFile)
            try await withStores(options) { configuration, stores, _ in
                let key: String
                if let keyFile {
                    guard let text = try? String(contentsOfFile: keyFile, encoding: .utf8) else {
                        throw CivitasError.invalid("signing_key_missing", "Cannot read the key file \(keyFile).")
                    }
                    key = text
                } else if let configured = configuration.audit.signingKey {
                    key = configured
                } else {
                    throw CivitasError.invalid("signing_key_missing", "Set AUDIT_SIGNING_KEY or give --key-file (see `civitas audit keygen`).")
                }
                let written = try await Commands.appendCheckpoints(stores: stores, signingKey: key, file: file)
                for checkpoint in written { print("\(checkpoint.jurisdiction): checkpoint at entry \(checkpoint.seq)") }
                if written.isEmpty { print("no audit entries yet; nothing to checkpoint") }
            }
        }
    }

    struct Keygen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a key pair for signing checkpoints; keep the private key outside the database and its backups.")

        func run() async throws {
            let (privateKey, publicKey) = AuditSigningKey.generate()
            print("AUDIT_SIGNING_KEY=\(privateKey)")
            print("AUDIT_PUBLIC_KEY=\(publicKey)")
        }
    }
}
