import Foundation

/// A point on the Earth in WGS 84 degrees.
public struct Coordinate: Sendable, Equatable, Hashable {
    public var latitude: Double
    public var longitude: Double

    public init(latitude: Double, longitude: Double) {
        self.latitude = latitude
        self.longitude = longitude
    }

    /// Great-circle distance in metres (haversine, mean Earth radius).
    public func distance(to other: Coordinate) -> Double {
        let radius = 6_371_008.8
        let lat1 = latitude * .pi / 180
        let lat2 = other.latitude * .pi / 180
        let dLat = lat2 - lat1
        let dLon = (other.longitude - longitude) * .pi / 180
        let h = sin(dLat / 2) * sin(dLat / 2) + cos(lat1) * cos(lat2) * sin(dLon / 2) * sin(dLon / 2)
        return 2 * radius * asin(min(1, sqrt(h)))
    }

    /// The box around this point that contains every point within `metres` (for an index lookup before the exact
    /// distance is computed).
    public func box(within metres: Double) -> (minLatitude: Double, minLongitude: Double, maxLatitude: Double, maxLongitude: Double) {
        let dLat = metres / 111_195.0
        let cosine = max(cos(latitude * .pi / 180), 0.01)
        let dLon = metres / (111_195.0 * cosine)
        return (latitude - dLat, longitude - dLon, latitude + dLat, longitude + dLon)
    }

    /// This point moved to the centre of a grid cell of about `metres` a side: how the public map blurs the location
    /// of a sensitive service, the same way for every request in the cell (no jitter that averages out).
    public func blurred(toCell metres: Double) -> Coordinate {
        guard metres > 0 else { return self }
        let stepLat = metres / 111_195.0
        let centreLatitude = ((latitude / stepLat).rounded(.down) + 0.5) * stepLat
        // The longitude step follows the cell's row, so every point of one cell lands on the same centre.
        let stepLon = metres / (111_195.0 * max(cos(centreLatitude * .pi / 180), 0.01))
        return Coordinate(latitude: centreLatitude, longitude: ((longitude / stepLon).rounded(.down) + 0.5) * stepLon)
    }
}
