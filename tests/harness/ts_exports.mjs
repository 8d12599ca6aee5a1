// Prints what the built TypeScript package exports: every name of dist/index.d.ts (types
// included, through the TypeScript compiler API), the runtime values, each exported class's
// parent class and its prototype's methods. Usage: node ts_exports.mjs <ts package dir>
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(process.argv[2]);
const require = createRequire(join(root, 'package.json'));
const ts = require('typescript');
const declarations = join(root, 'dist', 'index.d.ts');
const program = ts.createProgram([declarations], { skipLibCheck: true });
const checker = program.getTypeChecker();
const module = checker.getSymbolAtLocation(program.getSourceFile(declarations));
const names = checker.getExportsOfModule(module).map((symbol) => symbol.name);
const runtime = await import(pathToFileURL(join(root, 'dist', 'index.js')).href);
const classes = {};
for (const [name, value] of Object.entries(runtime)) {
  if (typeof value === 'function' && /^[A-Z]/.test(name)) {
    classes[name] = {
      parent: Object.getPrototypeOf(value).name || null,
      methods: Object.getOwnPropertyNames(value.prototype ?? {}),
    };
  }
}
console.log(JSON.stringify({ names: names.sort(), runtime: Object.keys(runtime).sort(), classes }));
