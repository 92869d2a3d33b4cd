import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The public surface of `@holdfast/client`, as the compiler sees it: every
 * name `src/index.ts` exports, with its declared shape, and every named type
 * of this repository those shapes reach without it being exported (a field
 * typed with an internal interface is public all the same). Compared with
 * api/public-api.txt, so a change to what devices program against shows up
 * as a diff that has to be committed on purpose (`vitest run -u`).
 *
 * The program is built in memory from the sources (no build needed), with
 * the repository's test compiler options (the `source` export condition).
 */

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../../..');
const entry = join(repoRoot, 'packages/client/src/index.ts');
const FLAGS =
  ts.TypeFormatFlags.NoTruncation |
  ts.TypeFormatFlags.WriteArrowStyleSignature |
  ts.TypeFormatFlags.UseSingleQuotesForStringLiteralType;

function createProgram(): ts.Program {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(repoRoot, 'tsconfig.test.json'),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => fail(d) },
  );
  if (!parsed) throw new Error('tsconfig.test.json could not be read');
  return ts.createProgram({ rootNames: [entry], options: { ...parsed.options, noEmit: true } });
}

function fail(diagnostic: ts.Diagnostic): never {
  throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
}

/** Repository-relative, forward slashes: the same on every machine. */
function repoPath(fileName: string): string {
  return relative(repoRoot, fileName).split(sep).join('/');
}

/** Declared in this repository's package sources (not a library or Node's types). */
function isOurs(symbol: ts.Symbol): boolean {
  return (symbol.declarations ?? []).some((d) => /^packages\/[^/]+\/src\//.test(repoPath(d.getSourceFile().fileName)));
}

/** Not private, protected or `#private`: part of what a caller can touch. */
function isPublic(property: ts.Symbol): boolean {
  if (property.getName().startsWith('#')) return false;
  const declaration = property.valueDeclaration ?? property.declarations?.[0];
  if (!declaration) return true;
  return (ts.getCombinedModifierFlags(declaration) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) === 0;
}

function publicSurface(program: ts.Program): string {
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  if (!source) throw new Error(`${entry} is not in the program`);
  const errors = ts.getPreEmitDiagnostics(program, source);
  if (errors.length > 0) fail(errors[0] as ts.Diagnostic);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  if (!moduleSymbol) throw new Error('index.ts is not a module');

  const text = (type: ts.Type) => checker.typeToString(type, undefined, FLAGS);
  const exported = new Set<ts.Symbol>();
  const reached = new Map<ts.Symbol, string>();
  const visited = new Set<ts.Type>();

  /** Notes every named type of ours that `type` mentions, so internal ones are listed too. */
  function reach(type: ts.Type, depth = 0): void {
    if (visited.has(type) || depth > 12) return;
    visited.add(type);
    const named = type.aliasSymbol ?? type.getSymbol();
    if (named && isOurs(named) && named.flags & (ts.SymbolFlags.Interface | ts.SymbolFlags.Class)) note(named);
    if (type.aliasSymbol && isOurs(type.aliasSymbol)) note(type.aliasSymbol);
    for (const t of type.aliasTypeArguments ?? []) reach(t, depth + 1);
    if (type.isUnionOrIntersection()) for (const t of type.types) reach(t, depth + 1);
    if (type.flags & ts.TypeFlags.Object) {
      const object = type as ts.ObjectType;
      if (object.objectFlags & ts.ObjectFlags.Reference) {
        for (const t of checker.getTypeArguments(object as ts.TypeReference)) reach(t, depth + 1);
      }
      // Library types (Promise, Map, AbortSignal…) are followed through their arguments only.
      if (named && !isOurs(named) && !(object.objectFlags & ts.ObjectFlags.Anonymous)) return;
      for (const property of type.getProperties()) {
        if (isPublic(property)) reach(checker.getTypeOfSymbol(property), depth + 1);
      }
      for (const signature of [...type.getCallSignatures(), ...type.getConstructSignatures()]) {
        for (const parameter of signature.getParameters()) reach(checker.getTypeOfSymbol(parameter), depth + 1);
        reach(signature.getReturnType(), depth + 1);
      }
    }
  }

  function note(symbol: ts.Symbol): void {
    if (exported.has(symbol) || reached.has(symbol)) return;
    const file = symbol.declarations?.[0]?.getSourceFile().fileName ?? '';
    reached.set(symbol, `${symbol.getName()} (${repoPath(file)})`);
    render(symbol, symbol.getName());
  }

  function members(type: ts.Type, indent: string): string[] {
    const lines: string[] = [];
    for (const signature of type.getCallSignatures()) lines.push(`${indent}${checker.signatureToString(signature)};`);
    for (const info of checker.getIndexInfosOfType(type)) {
      lines.push(`${indent}[key: ${text(info.keyType)}]: ${text(info.type)};`);
    }
    for (const property of type.getProperties()) {
      // Members inherited from library types (Error's stack, cause…) change with Node's typings, not with this API.
      if (!isPublic(property) || !isOurs(property)) continue;
      const declaration = property.valueDeclaration ?? property.declarations?.[0];
      const modifiers = declaration ? ts.getCombinedModifierFlags(declaration) : ts.ModifierFlags.None;
      const readonly = modifiers & ts.ModifierFlags.Readonly ? 'readonly ' : '';
      const optional = property.flags & ts.SymbolFlags.Optional ? '?' : '';
      const propertyType = checker.getTypeOfSymbol(property);
      reach(propertyType);
      lines.push(`${indent}${readonly}${property.getName()}${optional}: ${text(propertyType)};`);
    }
    return lines;
  }

  function typeParameters(symbol: ts.Symbol): string {
    const declared = checker.getDeclaredTypeOfSymbol(symbol);
    const params =
      symbol.flags & ts.SymbolFlags.TypeAlias
        ? (symbol.declarations?.[0] as ts.TypeAliasDeclaration | undefined)?.typeParameters?.map((p) => p.getText())
        : (declared as ts.InterfaceType).typeParameters?.map((p) => text(p));
    return params && params.length > 0 ? `<${params.join(', ')}>` : '';
  }

  const blocks = new Map<string, string[]>();

  function render(symbol: ts.Symbol, name: string): void {
    const out: string[] = [];
    const flags = symbol.flags;
    if (flags & ts.SymbolFlags.Class) {
      const declared = checker.getDeclaredTypeOfSymbol(symbol);
      const staticType = checker.getTypeOfSymbol(symbol);
      const bases = declared.getBaseTypes?.() ?? [];
      const heritage = bases.length > 0 ? ` extends ${bases.map(text).join(', ')}` : '';
      out.push(`class ${name}${typeParameters(symbol)}${heritage} {`);
      for (const signature of staticType.getConstructSignatures()) {
        for (const parameter of signature.getParameters()) reach(checker.getTypeOfSymbol(parameter));
        out.push(`  constructor${checker.signatureToString(signature).replace(/ => .*$/s, '')};`);
      }
      for (const property of staticType.getProperties()) {
        if (property.getName() === 'prototype' || !isPublic(property) || !isOurs(property)) continue;
        out.push(`  static ${property.getName()}: ${text(checker.getTypeOfSymbol(property))};`);
      }
      out.push(...members(declared, '  '), '}');
    } else if (flags & ts.SymbolFlags.Interface) {
      const declared = checker.getDeclaredTypeOfSymbol(symbol);
      out.push(`interface ${name}${typeParameters(symbol)} {`, ...members(declared, '  '), '}');
    } else if (flags & ts.SymbolFlags.TypeAlias) {
      const declared = checker.getDeclaredTypeOfSymbol(symbol);
      reach(declared);
      out.push(
        `type ${name}${typeParameters(symbol)} = ${checker.typeToString(declared, undefined, FLAGS | ts.TypeFormatFlags.InTypeAlias)};`,
      );
    } else if (flags & ts.SymbolFlags.Enum) {
      out.push(
        `enum ${name} { ${checker
          .getExportsOfModule(symbol)
          .map((m) => m.getName())
          .join(', ')} }`,
      );
    }
    if (flags & ts.SymbolFlags.Function) {
      const type = checker.getTypeOfSymbol(symbol);
      reach(type);
      for (const signature of type.getCallSignatures()) {
        out.push(
          `function ${name}${checker.signatureToString(signature, undefined, FLAGS & ~ts.TypeFormatFlags.WriteArrowStyleSignature)};`,
        );
      }
    } else if (flags & ts.SymbolFlags.Variable) {
      const type = checker.getTypeOfSymbol(symbol);
      reach(type);
      out.push(`const ${name}: ${text(type)};`);
    }
    if (out.length === 0) out.push(`${name}: unrecognised declaration (flags ${flags})`);
    blocks.set(exported.has(symbol) ? name : (reached.get(symbol) ?? name), out);
  }

  const exports = checker.getExportsOfModule(moduleSymbol).sort((a, b) => a.getName().localeCompare(b.getName(), 'en'));
  const targets = exports.map((e) => ({
    name: e.getName(),
    symbol: e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e,
  }));
  for (const { symbol } of targets) exported.add(symbol);
  for (const { name, symbol } of targets) render(symbol, name);

  const sections = [
    '# @holdfast/client public API (generated by packages/client/src/public-api.test.ts; update with `npx vitest run packages/client/src/public-api.test.ts -u`)',
    '',
    '## Exported from packages/client/src/index.ts',
    '',
  ];
  for (const { name } of targets) sections.push(...(blocks.get(name) ?? []), '');
  sections.push('## Types the exports reach without exporting them', '');
  const internal = [...reached.values()].sort((a, b) => a.localeCompare(b, 'en'));
  for (const key of internal) sections.push(`// ${key}`, ...(blocks.get(key) ?? []), '');
  const out = `${sections.join('\n').trimEnd()}\n`;
  // A type named through its module (`import("…").T`) gets a repository-relative path: the same on every machine.
  return out.split(`${repoRoot}/`).join('').split(repoRoot).join('<repo>');
}

describe('@holdfast/client public API', () => {
  it('matches the committed snapshot (api/public-api.txt)', async () => {
    const surface = publicSurface(createProgram());
    expect(surface).not.toContain('<repo>');
    expect(surface).toContain('function createClient(');
    await expect(surface).toMatchFileSnapshot('../api/public-api.txt');
  }, 120_000);
});
