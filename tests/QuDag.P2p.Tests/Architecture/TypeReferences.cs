using System.Reflection;
using System.Reflection.Emit;

namespace QuDag.P2p.Tests.Architecture;

/// <summary>
/// The types a type uses, read from the compiled assembly: its base type and interfaces, the types of its fields,
/// properties, events, method parameters, return values, locals and catch clauses, and every type, method and field its IL names
/// (so a call or a <c>new</c> in a method body counts). Nested types (lambdas, async state machines) count for the
/// type they are declared in. Generic arguments, arrays and by-refs are unwrapped.
/// </summary>
internal static class TypeReferences
{
    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    private static readonly Dictionary<short, OpCode> s_opCodes = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    /// <summary>The top-level (non-nested) types of an assembly that its source declares (not compiler-made helpers).</summary>
    public static IEnumerable<Type> DeclaredTypes(Assembly assembly) =>
        assembly.GetTypes().Where(t => !t.IsNested && t.Namespace is { } ns && ns.StartsWith("QuDag", StringComparison.Ordinal)
            && !t.Name.StartsWith('<') && !t.IsDefined(typeof(System.Runtime.CompilerServices.CompilerGeneratedAttribute), false));

    /// <summary>Every type <paramref name="type"/> and its nested types use, as their generic definitions.</summary>
    public static HashSet<Type> Of(Type type)
    {
        var found = new HashSet<Type>();
        foreach (var t in WithNested(type))
            Collect(t, found);
        found.Remove(type);
        return found;
    }

    private static IEnumerable<Type> WithNested(Type type) =>
        new[] { type }.Concat(type.GetNestedTypes(Declared).SelectMany(WithNested));

    private static void Collect(Type type, HashSet<Type> found)
    {
        Add(type.BaseType, found);
        foreach (var i in type.GetInterfaces())
            Add(i, found);
        foreach (var f in type.GetFields(Declared))
            Add(f.FieldType, found);
        foreach (var p in type.GetProperties(Declared))
            Add(p.PropertyType, found);
        foreach (var e in type.GetEvents(Declared))
            Add(e.EventHandlerType, found);
        foreach (var m in type.GetMethods(Declared).Cast<MethodBase>().Concat(type.GetConstructors(Declared)))
        {
            if (m is MethodInfo mi)
                Add(mi.ReturnType, found);
            foreach (var p in m.GetParameters())
                Add(p.ParameterType, found);
            if (m.GetMethodBody() is not { } body)
                continue;
            foreach (var local in body.LocalVariables)
                Add(local.LocalType, found);
            // A catch clause names its type in the method's exception table, not in its IL.
            foreach (var clause in body.ExceptionHandlingClauses)
            {
                if (clause.Flags == ExceptionHandlingClauseOptions.Clause)
                    Add(clause.CatchType, found);
            }
            ScanIl(m, body.GetILAsByteArray() ?? [], found);
        }
    }

    // Walks the IL by opcode and resolves each metadata token it carries (types, methods, fields).
    private static void ScanIl(MethodBase method, byte[] il, HashSet<Type> found)
    {
        var module = method.Module;
        var typeArgs = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
        var methodArgs = method.IsGenericMethod ? method.GetGenericArguments() : null;
        var i = 0;
        while (i < il.Length)
        {
            short value = il[i] == 0xFE ? (short)(0xFE00 | il[i + 1]) : il[i];
            i += il[i] == 0xFE ? 2 : 1;
            var op = s_opCodes[value];
            switch (op.OperandType)
            {
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                    i += 1;
                    break;
                case OperandType.InlineVar:
                    i += 2;
                    break;
                case OperandType.InlineI8 or OperandType.InlineR:
                    i += 8;
                    break;
                case OperandType.InlineSwitch:
                    i += 4 + 4 * BitConverter.ToInt32(il, i);
                    break;
                case OperandType.InlineType or OperandType.InlineTok or OperandType.InlineMethod or OperandType.InlineField:
                    var member = Resolve(module, BitConverter.ToInt32(il, i), typeArgs, methodArgs);
                    switch (member)
                    {
                        case Type t:
                            Add(t, found);
                            break;
                        case FieldInfo f:
                            Add(f.DeclaringType, found);
                            Add(f.FieldType, found);
                            break;
                        case MethodBase m:
                            Add(m.DeclaringType, found);
                            if (m is MethodInfo mi)
                            {
                                Add(mi.ReturnType, found);
                                foreach (var a in mi.IsGenericMethod ? mi.GetGenericArguments() : [])
                                    Add(a, found);
                            }
                            break;
                    }
                    i += 4;
                    break;
                default: // InlineI, InlineBrTarget, InlineString, InlineSig, ShortInlineR
                    i += 4;
                    break;
            }
        }
    }

    private static MemberInfo? Resolve(Module module, int token, Type[]? typeArgs, Type[]? methodArgs)
    {
        try
        {
            return module.ResolveMember(token, typeArgs, methodArgs);
        }
        catch (ArgumentException)
        {
            return null; // a token of a kind that names no member (a signature)
        }
    }

    private static void Add(Type? type, HashSet<Type> found)
    {
        if (type is null)
            return;
        if (type.HasElementType)
        {
            Add(type.GetElementType(), found);
            return;
        }
        if (type.IsGenericParameter)
            return;
        if (type.IsGenericType)
        {
            foreach (var a in type.GetGenericArguments())
                Add(a, found);
            type = type.GetGenericTypeDefinition();
        }
        while (type.IsNested && !type.IsGenericParameter)
            type = type.DeclaringType!; // a nested type stands for its outer type's layer
        found.Add(type);
    }
}
