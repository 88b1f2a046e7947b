import CivitasCore
import CivitasStore
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import Metrics
import NIOCore
import Prometheus

/// The request context of every Civitas route.
public struct CivitasRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer's IP address, when the connection has one.
    public var remoteAddress: String?
    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress?.ipAddress
    }
}

/// Process-wide metrics: swift-metrics can be bootstrapped once per process, so the registry is made once.
public enum Observability {
    public static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()
}

/// Builds the router with every controller and middleware; tests drive this same router.
public func buildRouter(configuration: AppConfiguration, stores: Stores, logger: Logger) async throws -> CivitasRouter {
    let registry = Observability.registry
    let known = try await stores.jurisdictions.all()
    let primary = known.first { $0.id == configuration.jurisdiction.id } ?? configuration.jurisdiction
    var stores = stores
    stores.requests.notices = NoticeSettings(site: primary.name, publicURL: configuration.publicURL)
    let directory = JurisdictionDirectory(
        primary: primary, all: Dictionary(known.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first }))

    let router = Router(context: CivitasRequestContext.self)
    router.add(middleware: RequestLogMiddleware(logger: logger))
    router.add(middleware: MetricsMiddleware())
    let limiter = RateLimiter(stores: stores)
    Open311Controller<CivitasRequestContext>(
        stores: stores, configuration: configuration, jurisdictions: directory, startedAt: Date(), limiter: limiter
    ).addRoutes(to: router)
    OperationsController<CivitasRequestContext>(stores: stores, registry: registry).addRoutes(to: router)
    let auth = try await Authenticator.make(stores: stores, configuration: configuration)
    OAuthController(stores: stores, configuration: configuration, auth: auth, limiter: limiter).addRoutes(to: router)
    try APIv1Controller(stores: stores, configuration: configuration, auth: auth, limiter: limiter).addRoutes(to: router)
    let web = Web(
        stores: stores, configuration: configuration, auth: auth, limiter: limiter,
        passwords: Passwords(cost: configuration.security.bcryptCost), views: try await Views.load(), catalog: try Catalog.load())
    web.addIdentityRoutes(to: router)
    ReportController(web: web).addRoutes(to: router)
    RequestPagesController(web: web).addRoutes(to: router)
    let staff = StaffController(web: web)
    staff.addRequestRoutes(to: router)
    DispatchController(staff: staff).addRoutes(to: router)
    CrewController(staff: staff).addRoutes(to: router)
    CaseWebController(staff: staff).addRoutes(to: router)
    SitePagesController(staff: staff).addRoutes(to: router)
    LiveController(staff: staff, hub: LiveHub(database: stores.database)).addRoutes(to: router)
    StaticAssets().addRoutes(to: router)
    let declared = router.addMethodNotAllowedRoutes()
    return CivitasRouter(
        router: router, declaredRoutes: declared, tls: configuration.publicURL.hasPrefix("https://"),
        errorPage: { request, status in web.errorPage(request, status: status) })
}

/// Builds the whole application: the router plus the background services that live as long as the server.
public func buildApplication(configuration: AppConfiguration, stores: Stores, logger: Logger) async throws
    -> some ApplicationProtocol
{
    let router = try await buildRouter(configuration: configuration, stores: stores, logger: logger)
    // Streaming answers (live maps) are not cut: the timeouts count only while a request is read or between requests.
    let limiter = ConnectionLimiter(
        total: min(configuration.maxConnections, max(16, FileLimit.raise() - 128)),
        perClient: configuration.maxConnectionsPerClient == 0 || configuration.security.trustForwardedFor
            ? nil : configuration.maxConnectionsPerClient)
    let bodyTimeout = TimeAmount.seconds(Int64(configuration.bodyTimeoutSeconds))
    let http = HTTP1Channel.Configuration(
        additionalChannelHandlers: [ConnectionGuard(limiter: limiter, bodyTimeout: bodyTimeout, logger: logger)],
        idleTimeout: .seconds(Int64(configuration.idleTimeoutSeconds)))
    var app = Application(
        router: router,
        server: .http1(configuration: http),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Civitas"),
        logger: logger)
    app.addServices(
        DatabaseService(stores: stores),
        BatchIntakeService(requests: stores.requests, interval: configuration.batchInterval, logger: logger),
        MailService(
            stores: stores, settings: configuration.mail, fromName: configuration.jurisdiction.name,
            idleTimeout: configuration.security.sessionIdle, interval: .seconds(1), logger: logger),
        CaseWorkService(
            stores: stores, jurisdictionID: configuration.jurisdiction.id, sweepInterval: .seconds(configuration.caseSweepSeconds),
            deliveryInterval: .milliseconds(500), firstRetry: TimeInterval(configuration.webhookRetrySeconds),
            allowPrivate: configuration.webhookAllowPrivate, logger: logger))
    if let key = configuration.audit.signingKey {
        let file = configuration.audit.checkpointFile
        _ = try AuditSigningKey.privateKey(key)
        app.addServices(
            AuditCheckpointService(
                stores: stores, signingKey: key, file: file, interval: .seconds(configuration.audit.checkpointSeconds), logger: logger))
    }
    return app
}
