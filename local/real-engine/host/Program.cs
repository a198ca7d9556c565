// The real Durable extension, hosted by the WebJobs SDK where the Functions host would be, for a
// Node app. Local tooling only (see ../README.md). It holds no orchestration logic: every
// orchestrator and activity is a generated function whose body carries the extension's payload to
// the Node bridge (the app's own durable-functions handlers) and hands back Node's answer.
using System.Reflection;
using System.Text.Json;
using Microsoft.Azure.WebJobs;
using Microsoft.Azure.WebJobs.Extensions.DurableTask;
using Microsoft.Azure.WebJobs.Host;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace RealEngineHost;

public static class Program
{
    public static async Task<int> Main()
    {
        // The extension picks its out-of-process protocol from the worker runtime, as in the
        // Functions host (DurableTaskExtension constructor; DefaultPlatformInformation).
        if (Environment.GetEnvironmentVariable("FUNCTIONS_WORKER_RUNTIME") != "node")
        {
            Console.Error.WriteLine("FUNCTIONS_WORKER_RUNTIME must be 'node': this host stands in for the Functions host of a Node app.");
            return 2;
        }
        string bridgeUrl = Required("REAL_ENGINE_BRIDGE_URL");
        Required("AzureWebJobsStorage");
        var manifest = JsonSerializer.Deserialize<FunctionManifest>(Required("REAL_ENGINE_FUNCTIONS"), new JsonSerializerOptions { PropertyNameCaseInsensitive = true })
            ?? throw new InvalidOperationException("REAL_ENGINE_FUNCTIONS is not a function list");
        string? hostJson = Environment.GetEnvironmentVariable("REAL_ENGINE_HOST_JSON");

        Bridge.Configure(new Uri(bridgeUrl.EndsWith('/') ? bridgeUrl : bridgeUrl + "/"));
        Type functions = FunctionTypeBuilder.Build(manifest.Orchestrators ?? [], manifest.Activities ?? [], manifest.Entities ?? []);

        IHost host = new HostBuilder()
            .ConfigureAppConfiguration(config =>
            {
                config.AddInMemoryCollection(HostJsonSettings.DurableTaskSection(hostJson));
                config.AddEnvironmentVariables();
            })
            .ConfigureWebJobs(webJobs => webJobs.AddDurableTask())
            .ConfigureLogging(logging =>
            {
                logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
                logging.SetMinimumLevel(LogLevel.Warning);
                logging.AddFilter("Host.Triggers.DurableTask", Environment.GetEnvironmentVariable("REAL_ENGINE_VERBOSE") == "1" ? LogLevel.Information : LogLevel.Warning);
            })
            .ConfigureServices(services =>
            {
                services.AddSingleton<ITypeLocator>(new FixedTypeLocator(functions, typeof(ClientBindingFunction)));
#pragma warning disable CS0618 // IWebHookProvider is what the Functions host registers; the extension asks it for management URLs.
                services.AddSingleton<Microsoft.Azure.WebJobs.Host.Config.IWebHookProvider>(new WebhookProvider(Environment.GetEnvironmentVariable("REAL_ENGINE_WEBHOOK_BASE_URL") ?? "http://127.0.0.1:7071"));
#pragma warning restore CS0618
            })
            .UseConsoleLifetime()
            .Build();

        await host.StartAsync();
        // The JSON the Functions host hands a Node durableClient binding (BindingHelper.DurableOrchestrationClientToString),
        // rpcBaseUrl included: the launcher gives it to the app's client functions.
        await host.Services.GetRequiredService<IJobHost>().CallAsync(nameof(ClientBindingFunction.DurableClientBinding));
        Console.Out.WriteLine("REAL_ENGINE_READY " + ClientBindingFunction.Captured);
        Console.Out.Flush();
        await host.WaitForShutdownAsync();
        return 0;
    }

    private static string Required(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"Setting {name} is missing");
}

public sealed class FunctionManifest
{
    public string[]? Orchestrators { get; set; }
    public string[]? Activities { get; set; }
    public string[]? Entities { get; set; }
}

/// <summary>Not triggered: called once at start to read the durableClient binding data.</summary>
public static class ClientBindingFunction
{
    public static string? Captured { get; private set; }

    // DF0203 is the analyzer's advice for C# apps; a string is what the Functions host binds for a Node client.
#pragma warning disable DF0203
    [NoAutomaticTrigger]
    public static void DurableClientBinding([DurableClient] string client) => Captured = client;
#pragma warning restore DF0203
}

internal sealed class FixedTypeLocator(params Type[] types) : ITypeLocator
{
    public IReadOnlyList<Type> GetTypes() => types;
}

#pragma warning disable CS0618
internal sealed class WebhookProvider(string appBaseUrl) : Microsoft.Azure.WebJobs.Host.Config.IWebHookProvider
{
    // The Functions host answers {app}/runtime/webhooks/{extension}; the local host serves the app's origin.
    public Uri GetUrl(Microsoft.Azure.WebJobs.Host.Config.IExtensionConfigProvider extension) => new(appBaseUrl.TrimEnd('/') + "/runtime/webhooks/durabletask");
}
#pragma warning restore CS0618

/// <summary>host.json's extensions.durableTask, where the WebJobs SDK binds DurableTaskOptions from.</summary>
internal static class HostJsonSettings
{
    private const string Section = "AzureWebJobs:extensions:durableTask";

    public static IEnumerable<KeyValuePair<string, string?>> DurableTaskSection(string? hostJsonPath)
    {
        var settings = new List<KeyValuePair<string, string?>>();
        if (hostJsonPath is null) return settings;
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(hostJsonPath));
        if (doc.RootElement.TryGetProperty("extensions", out JsonElement ext) && ext.TryGetProperty("durableTask", out JsonElement durable))
        {
            Flatten(durable, Section, settings);
        }
        return settings;
    }

    private static void Flatten(JsonElement element, string prefix, List<KeyValuePair<string, string?>> into)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (JsonProperty p in element.EnumerateObject()) Flatten(p.Value, $"{prefix}:{p.Name}", into);
                break;
            case JsonValueKind.Array:
                int i = 0;
                foreach (JsonElement item in element.EnumerateArray()) Flatten(item, $"{prefix}:{i++}", into);
                break;
            default:
                into.Add(new(prefix, element.ValueKind == JsonValueKind.Null ? null : element.ToString()));
                break;
        }
    }
}
