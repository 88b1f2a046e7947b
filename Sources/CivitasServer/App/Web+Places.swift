import CivitasCore
import CivitasStore
import Foundation
import Hummingbird

/// Where a request is, in words people use. A report sent with a spot but no address (a phone app over Open311, a pin
/// on the map) is named by the nearest of the city's address points; bare coordinates are shown only where no
/// address is near, and then said to be a spot on the map.
extension Web {
    func place(_ location: RequestLocation, request: Request) async throws -> String {
        if let address = location.address, !address.trimmingCharacters(in: .whitespaces).isEmpty { return address }
        guard let latitude = location.latitude, let longitude = location.longitude else { return "" }
        if let near = try await stores.addresses.nearest(
            to: Coordinate(latitude: latitude, longitude: longitude), jurisdictionID: configuration.jurisdiction.id)
        {
            return tr(request, "place_near", ["address": near.address])
        }
        return tr(request, "place_spot", ["spot": String(format: "%.5f, %.5f", latitude, longitude)])
    }

    /// The place of each request in a list, by id.
    func places(_ requests: [ServiceRequest], request: Request) async throws -> [Int64: String] {
        var places: [Int64: String] = [:]
        for item in requests { places[item.id] = try await place(item.location, request: request) }
        return places
    }
}
