import CivitasCore
import CivitasStore
import Logging

/// The stores of one Civitas process over one database; what the server and every CLI verb work through.
public struct Stores: Sendable {
    public let database: Database
    public let jurisdictions: JurisdictionStore
    public let services: ServiceStore
    public var requests: ServiceRequestStore
    public let apiKeys: APIKeyStore
    public let media: MediaStore
    public let users: UserStore
    public let sessions: SessionStore
    public let credentials: CredentialStore
    public let audit: AuditStore
    public let rateLimits: RateLimitStore
    public let outbox: MailOutboxStore
    public let addresses: AddressStore
    public let serviceSettings: ServiceSettingsStore
    public let drafts: ReportDraftStore
    public let templates: ResponseTemplateStore
    public let savedViews: SavedViewStore
    public let crews: CrewStore
    public let plans: PlanStore
    public var cases: CaseStore
    public let sitePages: SitePageStore

    public init(database: Database) {
        self.database = database
        jurisdictions = JurisdictionStore(database: database)
        services = ServiceStore(database: database)
        requests = ServiceRequestStore(database: database)
        apiKeys = APIKeyStore(database: database)
        media = MediaStore(database: database)
        users = UserStore(database: database)
        sessions = SessionStore(database: database)
        credentials = CredentialStore(database: database)
        audit = AuditStore(database: database)
        rateLimits = RateLimitStore(database: database)
        outbox = MailOutboxStore(database: database)
        addresses = AddressStore(database: database)
        serviceSettings = ServiceSettingsStore(database: database)
        drafts = ReportDraftStore(database: database)
        templates = ResponseTemplateStore(database: database)
        savedViews = SavedViewStore(database: database)
        crews = CrewStore(database: database)
        plans = PlanStore(database: database)
        cases = CaseStore(database: database)
        sitePages = SitePageStore(database: database)
    }

    /// Opens the database, applies missing migrations and makes sure the jurisdiction exists.
    public static func open(_ configuration: AppConfiguration, logger: Logger) async throws -> Stores {
        let database = try Database.open(configuration.database, logger: logger)
        do {
            try await Migrator(database: database).migrate()
            var stores = Stores(database: database)
            // Followers hear about changes made through any door: the web, the API or the command line.
            stores.requests.notices = NoticeSettings(site: configuration.jurisdiction.name, publicURL: configuration.publicURL)
            stores.cases.zone = configuration.jurisdiction.timeZone
            stores.cases.publicURL = configuration.publicURL
            stores.cases.site = configuration.jurisdiction.name
            let known = try await stores.jurisdictions.all().first { $0.id == configuration.jurisdiction.id }
            if known == nil || configuration.jurisdictionConfigured {
                try await stores.jurisdictions.ensure(configuration.jurisdiction)
            }
            return stores
        } catch {
            await database.shutdown()
            throw error
        }
    }
}
