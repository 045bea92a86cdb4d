public enum RunDatabasePlaceholder {}
