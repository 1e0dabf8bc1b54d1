import ArgumentParser

@main
struct Goaway: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "goaway",
        abstract: "HTTP/2 GOAWAY without lost requests: a graceful server, a client that re-sends, and tools.",
        subcommands: [ServeCommand.self, LoadCommand.self, GetCommand.self]
    )
}
