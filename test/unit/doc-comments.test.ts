/**
 * Every public export of the package's entries (src/sdk/index.ts, and src/sdk/deploy/index.ts for
 * `recognite-ts/deploy`) has a doc comment (TSDoc), and so has every public member of
 * an exported class or interface: the API reference (`npm run docs`, TypeDoc) is generated from them,
 * so a missing one is a hole in the reference. Read with the TypeScript compiler API, the way TypeDoc
 * reads them: aliases resolved, overloads and merged declarations together.
 */
import assert from 'node:assert/strict';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ENTRIES = [join(ROOT, 'src', 'sdk', 'index.ts'), join(ROOT, 'src', 'sdk', 'deploy', 'index.ts')];
const SDK = join(ROOT, 'src', 'sdk');

function program(): ts.Program {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    join(ROOT, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => {
        throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      },
    },
  );
  assert.ok(parsed, 'tsconfig.json parses');
  return ts.createProgram(ENTRIES, { ...parsed.options, noEmit: true });
}

function docOf(symbol: ts.Symbol, checker: ts.TypeChecker): string {
  return ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();
}

function isInternal(symbol: ts.Symbol): boolean {
  return symbol.getJsDocTags().some((tag) => tag.name === 'internal');
}

/** Declared in the SDK's own sources (not in lib.d.ts or a dependency). */
function inSdk(symbol: ts.Symbol): boolean {
  return (symbol.declarations ?? []).some((d) => !relative(SDK, d.getSourceFile().fileName).startsWith('..'));
}

function isPublicMember(symbol: ts.Symbol): boolean {
  if (symbol.name.startsWith('#') || symbol.name.startsWith('__')) return false;
  return (symbol.declarations ?? []).every((d) => {
    const flags = ts.getCombinedModifierFlags(d);
    return (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) === 0;
  });
}

/** `Name` or `Name.member` of every public export (or public member) without a doc comment. */
function undocumented(entry: string): { missing: string[]; checked: number } {
  const prog = program();
  const checker = prog.getTypeChecker();
  const source = prog.getSourceFile(entry);
  assert.ok(source, `${entry} is in the program`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  assert.ok(moduleSymbol, `${entry} is a module`);
  const missing: string[] = [];
  let checked = 0;
  const seenMembers = new Set<ts.Symbol>();
  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    checked++;
    if (!docOf(symbol, checker)) missing.push(exported.name);
    // members: of a class (its instance side and its statics) or an interface; a type alias of a class
    // (`Tensor`) counts as that class
    const owners: ts.Type[] = [];
    if (symbol.flags & ts.SymbolFlags.Class) {
      owners.push(checker.getDeclaredTypeOfSymbol(symbol));
    }
    if (symbol.flags & ts.SymbolFlags.Class && symbol.valueDeclaration) {
      owners.push(checker.getTypeOfSymbolAtLocation(symbol, symbol.valueDeclaration));
    }
    if (symbol.flags & ts.SymbolFlags.TypeAlias) {
      const target = checker.getDeclaredTypeOfSymbol(symbol).getSymbol();
      if (target && target.flags & ts.SymbolFlags.Class) owners.push(checker.getDeclaredTypeOfSymbol(symbol));
    }
    for (const owner of owners) {
      for (const member of checker.getPropertiesOfType(owner)) {
        if (member.name === 'prototype' || !inSdk(member) || !isPublicMember(member) || isInternal(member)) continue;
        if (seenMembers.has(member)) continue;
        seenMembers.add(member);
        checked++;
        if (!docOf(member, checker)) missing.push(`${exported.name}.${member.name}`);
      }
    }
  }
  return { missing, checked };
}

for (const entry of ENTRIES) {
  const name = relative(ROOT, entry);
  test(`every public export of ${name}, and every public member of its classes and interfaces, has a doc comment`, () => {
    const { missing, checked } = undocumented(entry);
    assert.ok(checked > 20, `checked ${checked} exports and members`);
    assert.equal(
      missing.length,
      0,
      `${missing.length} of ${checked} public exports and members of ${name} have no doc comment (/** ... */) ` +
        `for the API reference (npm run docs):\n  ${missing.join('\n  ')}`,
    );
  });
}
