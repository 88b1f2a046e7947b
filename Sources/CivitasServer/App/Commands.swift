/// What the `civitas` verbs do, kept here so the executable holds no logic and tests can call the same code.
/// Each capability adds its verbs in `<Capability>/Commands+<Capability>.swift`.
public enum Commands {}
