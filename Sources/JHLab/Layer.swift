// The JHLab layer. See Docs/architecture.md for what it owns.
