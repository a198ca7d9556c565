using System.Net.Http.Headers;
using System.Text;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

namespace RealEngineHost;

/// <summary>
/// Carries payloads to the Node bridge (local/real-engine/bridge.ts) and back, as the Functions
/// host carries them to the Node worker over gRPC. No orchestration logic lives here.
/// </summary>
public static class Bridge
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromMinutes(10) };
    private static Uri baseUrl = new("http://127.0.0.1:1/");

    internal static void Configure(Uri url) => baseUrl = url;

    /// <summary>The orchestration trigger payload in, the OrchestratorState JSON out (OutOfProcOrchestrationShim applies it).</summary>
    public static Task<string> Orchestrate(string name, string payload) =>
        // Task.Run: the extension blocks on out-of-proc orchestrator results (TaskOrchestrationShim),
        // so the HTTP call must not need the orchestration's own scheduler to complete.
        Task.Run(async () =>
        {
            JObject answer = await Post($"orchestrations/{Uri.EscapeDataString(name)}", payload).ConfigureAwait(false);
            return answer["state"] is JToken state ? state.ToString(Formatting.None) : throw FailureOf(answer);
        });

    /// <summary>The activity input as the Functions host hands it to a Node worker (a string), the result as JSON.</summary>
    public static Task<JToken?> Activity(string name, string? input) =>
        Task.Run(async () =>
        {
            var body = new JObject { ["input"] = input is null ? JValue.CreateNull() : new JValue(input) };
            JObject answer = await Post($"activities/{Uri.EscapeDataString(name)}", body.ToString(Formatting.None)).ConfigureAwait(false);
            if (answer["error"] is not null) throw FailureOf(answer);
            // An activity that returned undefined has no "result": no output, as in Functions.
            return answer.TryGetValue("result", out JToken? result) ? result : null;
        });

    /// <summary>The entity batch JSON in; the library's EntityState (entityExists, entityState, results, signals) out, as a JObject.</summary>
    public static Task<JObject> Entity(string name, string context) =>
        Task.Run(async () =>
        {
            JObject answer = await Post($"entities/{Uri.EscapeDataString(name)}", context).ConfigureAwait(false);
            return answer["result"] is JObject result ? result : throw FailureOf(answer);
        });

    private static async Task<JObject> Post(string path, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using HttpResponseMessage response = await Http.PostAsync(new Uri(baseUrl, path), content).ConfigureAwait(false);
        string text = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            // A bridge that cannot answer is a host problem, not a user-code failure.
            throw new InvalidOperationException($"The Node bridge answered {(int)response.StatusCode} for {path}: {text}");
        }
        return JObject.Parse(text);
    }

    /// <summary>
    /// The Functions host reports a failed Node invocation as an RpcException whose message is
    /// "Result: Failure\nException: {message}\nStack: {stack}" (azure-functions-host
    /// Workers/Rpc/MessageExtensions/RpcException.cs); the extension parses that shape
    /// (OutOfProcExceptionHelpers), including the "$OutOfProcData$" state of a failed orchestrator.
    /// </summary>
    private static Exception FailureOf(JObject answer)
    {
        string message = answer["error"]?["message"]?.ToString() ?? "unknown failure";
        string stack = answer["error"]?["stack"]?.ToString() ?? string.Empty;
        return new NodeInvocationException($"Result: Failure\nException: {message}\nStack: {stack}");
    }
}

public sealed class NodeInvocationException(string message) : Exception(message);
