// Prints what the Functions timer trigger makes of each schedule in a cases file, using the real
// NCrontab.Signed package: the order of TimerSchedule.Create in azure-webjobs-sdk-extensions
// (NCrontab with seconds first, then TimeSpan.TryParse), and the next occurrences NCrontab gives.
// Output: JSON on stdout, committed as test/schedules/ncrontab.oracle.json.
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using NCrontab;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

if (args.Length != 1)
{
    Console.Error.WriteLine("usage: NcrontabOracle <cases.json>");
    return 2;
}

var cases = JsonNode.Parse(File.ReadAllText(args[0]))!.AsObject();
var bases = cases["bases"]!.AsArray().Select(node => DateTime.Parse(node!.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal)).ToArray();
var count = cases["occurrences"]!.GetValue<int>();
var options = new CrontabSchedule.ParseOptions { IncludingSeconds = true };

static string Iso(DateTime time) => time == DateTime.MaxValue ? "never" : time.ToString("yyyy-MM-ddTHH:mm:ss'Z'", CultureInfo.InvariantCulture);

var results = new JsonArray();
foreach (var schedule in cases["schedules"]!.AsArray().Select(node => node!.GetValue<string>()))
{
    var result = new JsonObject { ["schedule"] = schedule };
    CrontabSchedule? cron = null;
    try
    {
        cron = CrontabSchedule.TryParse(schedule, options);
    }
    catch (Exception error)
    {
        // TryParse lets some exceptions through (an Int32 overflow): the host refuses the function.
        result["cronThrows"] = error.GetType().Name;
    }

    if (cron != null)
    {
        result["kind"] = "cron";
        var next = new JsonObject();
        foreach (var start in bases)
        {
            var list = new JsonArray();
            var at = start;
            for (var i = 0; i < count; i++)
            {
                at = cron.GetNextOccurrence(at);
                list.Add(Iso(at));
                if (at == DateTime.MaxValue) break;
            }
            next[Iso(start)] = list;
        }
        result["next"] = next;
    }
    // Invariant culture: the same answer on every machine (Azure runs en-US; only the separators are culture-sensitive).
    else if (TimeSpan.TryParse(schedule, CultureInfo.InvariantCulture, out var span))
    {
        result["kind"] = "timeSpan";
        result["ticks"] = span.Ticks.ToString(CultureInfo.InvariantCulture);
    }
    else
    {
        result["kind"] = "refused";
    }
    results.Add(result);
}

var output = new JsonObject
{
    ["generatedBy"] = "test/oracles/ncrontab (NCrontab.Signed " + typeof(CrontabSchedule).Assembly.GetName().Version + ")",
    ["bases"] = new JsonArray(bases.Select(start => (JsonNode)Iso(start)).ToArray()),
    ["occurrences"] = count,
    ["cases"] = results,
};
Console.WriteLine(output.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
return 0;
