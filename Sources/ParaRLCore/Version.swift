// The project version, stored with every run and printed by `pararl --version`.
public enum ParaRLVersion {
    public static let string = "0.1.0"
}
