// pyodide (CPython, Emscripten): Python code, the standard library, values both ways.
import { createRequire } from 'node:module';
const { loadPyodide } = createRequire(import.meta.url)('pyodide');
const py = await loadPyodide();
console.log(py.runPython('import sys; sys.version.split()[0][:4]'));
console.log(py.runPython('import json, hashlib; json.dumps({"sq": [i * i for i in range(8)], "h": hashlib.sha256(b"abc").hexdigest()[:16]})'));
py.globals.set('jsList', [3, 1, 2]);
console.log(py.runPython('sorted(jsList.to_py()) + [sum(range(10**5))]').toJs().join(','));
console.log(py.runPython('try:\n  1/0\nexcept ZeroDivisionError as e:\n  r = repr(e)\nr'));
