// The README's client example, verbatim (ReadmeExamplesTests checks it).
// Run against `goaway serve --port 8080`: swift run example-client
import GoAwayKit

let client = try HTTP2Client(endpoints: ["http://127.0.0.1:8080"])   // several: one pool each

let hello = try await client.get("/")
print(hello.status, hello.text)

do {
    let response = try await client.post("/echo", body: .string(#"{"item": 42}"#))
    print(response.status, response.body.readableBytes, "bytes")
} catch let error as HTTP2ClientError where error.code == .possiblyProcessed {
    // The connection broke after the server may have acted on this POST: decide, don't guess.
    print("maybe processed:", error)
}

// The full form: any method, headers, a streaming response body.
var request = HTTPRequest.get("/bytes/100000")
request.headerFields[.accept] = "application/octet-stream"
let streaming = try await client.execute(request)
var received = 0
for try await chunk in streaming.body { received += chunk.readableBytes }
print(streaming.status, received, "bytes streamed")

await client.shutdown()
