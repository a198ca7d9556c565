using System.Reflection;
using System.Reflection.Emit;
using Microsoft.Azure.WebJobs;
using Microsoft.Azure.WebJobs.Extensions.DurableTask;
using Newtonsoft.Json.Linq;

namespace RealEngineHost;

/// <summary>
/// Generates one WebJobs function per orchestrator, activity and entity the Node app registered, named
/// exactly as the app names them, the way the Functions host generates its script functions
/// (a type emitted at start-up). Each body is one call: <see cref="Bridge"/> with its name and
/// the trigger payload. Orchestrators bind their trigger to <c>string</c>, which the extension
/// treats as out-of-proc (OrchestrationTriggerAttributeBindingProvider: not an
/// IDurableOrchestrationContext parameter); activities bind to <c>string</c>, the legacy
/// out-of-proc input (DurableActivityContext.GetInput). Entities bind <c>[EntityTrigger] string</c>,
/// which makes them out-of-proc too (EntityTriggerAttributeBindingProvider.CreateListenerAsync:
/// not an IDurableEntityContext parameter): they receive the batch JSON (EntityContextToString:
/// self, exists, state, batch) and return the library's result as a JObject, which
/// TaskEntityShim.ExecuteOutOfProcBatch reads as OutOfProcResult (<c>outOfProcResults as JObject</c>).
/// </summary>
internal static class FunctionTypeBuilder
{
    public static Type Build(IEnumerable<string> orchestrators, IEnumerable<string> activities, IEnumerable<string> entities)
    {
        var assembly = AssemblyBuilder.DefineDynamicAssembly(new AssemblyName("RealEngineAppFunctions"), AssemblyBuilderAccess.Run);
        ModuleBuilder module = assembly.DefineDynamicModule("RealEngineAppFunctions");
        TypeBuilder type = module.DefineType("AppFunctions", TypeAttributes.Public | TypeAttributes.Abstract | TypeAttributes.Sealed | TypeAttributes.Class);

        foreach (string name in orchestrators)
        {
            Define(type, name, typeof(OrchestrationTriggerAttribute), "context", typeof(Task<string>), nameof(Bridge.Orchestrate));
        }
        foreach (string name in activities)
        {
            Define(type, name, typeof(ActivityTriggerAttribute), "input", typeof(Task<JToken?>), nameof(Bridge.Activity));
        }
        foreach (string name in entities)
        {
            Define(type, name, typeof(EntityTriggerAttribute), "context", typeof(Task<JObject>), nameof(Bridge.Entity));
        }
        return type.CreateType();
    }

    private static void Define(TypeBuilder type, string functionName, Type triggerAttribute, string parameterName, Type returnType, string bridgeMethod)
    {
        MethodBuilder method = type.DefineMethod(functionName, MethodAttributes.Public | MethodAttributes.Static, returnType, [typeof(string)]);
        method.SetCustomAttribute(new CustomAttributeBuilder(typeof(FunctionNameAttribute).GetConstructor([typeof(string)])!, [functionName]));
        ParameterBuilder parameter = method.DefineParameter(1, ParameterAttributes.None, parameterName);
        parameter.SetCustomAttribute(new CustomAttributeBuilder(triggerAttribute.GetConstructor(Type.EmptyTypes)!, []));
        ILGenerator il = method.GetILGenerator();
        il.Emit(OpCodes.Ldstr, functionName);
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Call, typeof(Bridge).GetMethod(bridgeMethod, BindingFlags.Public | BindingFlags.Static)!);
        il.Emit(OpCodes.Ret);
    }
}
