var __create = Object.create;
var __defProp = Object.defineProperty;
var __getOwnPropDesc = Object.getOwnPropertyDescriptor;
var __getOwnPropNames = Object.getOwnPropertyNames;
var __getProtoOf = Object.getPrototypeOf;
var __hasOwnProp = Object.prototype.hasOwnProperty;
var __commonJS = (cb, mod) => function __require() {
  try {
    return mod || (0, cb[__getOwnPropNames(cb)[0]])((mod = { exports: {} }).exports, mod), mod.exports;
  } catch (e) {
    throw mod = 0, e;
  }
};
var __copyProps = (to, from, except, desc) => {
  if (from && typeof from === "object" || typeof from === "function") {
    for (let key of __getOwnPropNames(from))
      if (!__hasOwnProp.call(to, key) && key !== except)
        __defProp(to, key, { get: () => from[key], enumerable: !(desc = __getOwnPropDesc(from, key)) || desc.enumerable });
  }
  return to;
};
var __toESM = (mod, isNodeMode, target) => (target = mod != null ? __create(__getProtoOf(mod)) : {}, __copyProps(
  // If the importer is in node compatibility mode or this is not an ESM
  // file that has been converted to a CommonJS file using a Babel-
  // compatible transform (i.e. "__esModule" has not been set), then set
  // "default" to the CommonJS "module.exports" for node compatibility.
  isNodeMode || !mod || !mod.__esModule ? __defProp(target, "default", { value: mod, enumerable: true }) : target,
  mod
));

// ../../../tmp/jcc/node_modules/isutf8/dist/index.js
var require_dist = __commonJS({
  "../../../tmp/jcc/node_modules/isutf8/dist/index.js"(exports, module) {
    "use strict";
    function isUtf8(buf) {
      if (!buf) {
        return false;
      }
      var i = 0;
      var len = buf.length;
      while (i < len) {
        if (buf[i] <= 127) {
          i++;
          continue;
        }
        if (buf[i] >= 194 && buf[i] <= 223) {
          if (buf[i + 1] >> 6 === 2) {
            i += 2;
            continue;
          } else {
            return false;
          }
        }
        if ((buf[i] === 224 && buf[i + 1] >= 160 && buf[i + 1] <= 191 || buf[i] === 237 && buf[i + 1] >= 128 && buf[i + 1] <= 159) && buf[i + 2] >> 6 === 2) {
          i += 3;
          continue;
        }
        if ((buf[i] >= 225 && buf[i] <= 236 || buf[i] >= 238 && buf[i] <= 239) && buf[i + 1] >> 6 === 2 && buf[i + 2] >> 6 === 2) {
          i += 3;
          continue;
        }
        if ((buf[i] === 240 && buf[i + 1] >= 144 && buf[i + 1] <= 191 || buf[i] >= 241 && buf[i] <= 243 && buf[i + 1] >> 6 === 2 || buf[i] === 244 && buf[i + 1] >= 128 && buf[i + 1] <= 143) && buf[i + 2] >> 6 === 2 && buf[i + 3] >> 6 === 2) {
          i += 4;
          continue;
        }
        return false;
      }
      return true;
    }
    module.exports = isUtf8;
  }
});

// ../../../tmp/jcc/node_modules/ensure-string/lib/index.js
var require_lib = __commonJS({
  "../../../tmp/jcc/node_modules/ensure-string/lib/index.js"(exports) {
    "use strict";
    var __importDefault = exports && exports.__importDefault || function(mod) {
      return mod && mod.__esModule ? mod : { "default": mod };
    };
    Object.defineProperty(exports, "__esModule", { value: true });
    exports.ensureString = void 0;
    var isutf8_1 = __importDefault(require_dist());
    function ensureString(blob, options = {}) {
      if (typeof blob === "string") {
        return blob;
      }
      if (ArrayBuffer.isView(blob) || blob instanceof ArrayBuffer) {
        const { encoding = guessEncoding(blob) } = options;
        const decoder = new TextDecoder(encoding);
        return decoder.decode(blob);
      }
      throw new TypeError(`blob must be a string, ArrayBuffer or ArrayBufferView`);
    }
    exports.ensureString = ensureString;
    function guessEncoding(blob) {
      const uint8 = ArrayBuffer.isView(blob) ? new Uint8Array(blob.buffer, blob.byteOffset, blob.byteLength) : new Uint8Array(blob);
      if (uint8.length >= 2) {
        if (uint8[0] === 254 && uint8[1] === 255) {
          return "utf-16be";
        }
        if (uint8[0] === 255 && uint8[1] === 254) {
          return "utf-16le";
        }
      }
      if (!(0, isutf8_1.default)(blob))
        return "latin1";
      return "utf-8";
    }
  }
});

// ../../../tmp/jcc/node_modules/dynamic-typing/lib/parseString.js
var require_parseString = __commonJS({
  "../../../tmp/jcc/node_modules/dynamic-typing/lib/parseString.js"(exports) {
    "use strict";
    Object.defineProperty(exports, "__esModule", { value: true });
    exports.parseString = void 0;
    function parseString(value) {
      if (value.length === 4 || value.length === 5) {
        const lowercase = value.toLowerCase();
        if (lowercase === "true")
          return true;
        if (lowercase === "false")
          return false;
      }
      const number = Number(value);
      if (number === 0 && !value.includes("0")) {
        return value;
      }
      if (!Number.isNaN(number))
        return number;
      return value;
    }
    exports.parseString = parseString;
  }
});

// ../../../tmp/jcc/node_modules/dynamic-typing/lib/index.js
var require_lib2 = __commonJS({
  "../../../tmp/jcc/node_modules/dynamic-typing/lib/index.js"(exports) {
    "use strict";
    var __createBinding = exports && exports.__createBinding || (Object.create ? (function(o, m, k2, k22) {
      if (k22 === void 0) k22 = k2;
      var desc = Object.getOwnPropertyDescriptor(m, k2);
      if (!desc || ("get" in desc ? !m.__esModule : desc.writable || desc.configurable)) {
        desc = { enumerable: true, get: function() {
          return m[k2];
        } };
      }
      Object.defineProperty(o, k22, desc);
    }) : (function(o, m, k2, k22) {
      if (k22 === void 0) k22 = k2;
      o[k22] = m[k2];
    }));
    var __exportStar = exports && exports.__exportStar || function(m, exports2) {
      for (var p in m) if (p !== "default" && !Object.prototype.hasOwnProperty.call(exports2, p)) __createBinding(exports2, m, p);
    };
    Object.defineProperty(exports, "__esModule", { value: true });
    __exportStar(require_parseString(), exports);
  }
});

// ../../../tmp/jcc/node_modules/gyromagnetic-ratio/lib/index.js
var require_lib3 = __commonJS({
  "../../../tmp/jcc/node_modules/gyromagnetic-ratio/lib/index.js"(exports) {
    "use strict";
    Object.defineProperty(exports, "__esModule", { value: true });
    exports.gyromagneticRatio = void 0;
    exports.getGyromagneticRatio = getGyromagneticRatio;
    exports.gyromagneticRatio = {
      "1H": 26752218744e-2,
      "2H": 41065e3,
      "3H": 285350800,
      "3He": -203789e3,
      "7Li": 103962e3,
      "13C": 67282840,
      "14N": 19331e3,
      "15N": -27116e3,
      "17O": -36264e3,
      "19F": 251662e3,
      "23Na": 70761e3,
      "27Al": 69763e3,
      "29Si": -5319e4,
      "31P": 108291e3,
      "57Fe": 8681e3,
      "63Cu": 71118e3,
      "67Zn": 16767e3,
      "129Xe": -73997e3,
      "195Pt": 58385e3,
      "199Hg": 48457916,
      "187Os": 6192895,
      "183W": 11282403,
      "125Te": -85108404,
      "123Te": -70590980,
      "119Sn": -100317e3,
      "117Sn": -95887900,
      "115Sn": -88013e3,
      "113Cd": -59609155,
      "111Cd": -56983131,
      "109Ag": -12518634,
      "77Se": 51253857,
      "89Y": -13162791,
      "103Rh": -8468e3,
      "107Ag": -10889181,
      "203Tl": 155393338,
      "205Tl": 156921808,
      "207Pb": 55804600
    };
    function getGyromagneticRatio(nucleus) {
      if (exports.gyromagneticRatio[nucleus]) {
        return exports.gyromagneticRatio[nucleus];
      }
      nucleus = nucleus.toLowerCase();
      if (nucleus === "proton")
        return exports.gyromagneticRatio["1H"];
      const nucleusNumber = nucleus.replace(/[^0-9]/g, "");
      if (!nucleusNumber)
        return null;
      for (const key in exports.gyromagneticRatio) {
        if (key.replace(/[^0-9]/g, "") === nucleusNumber) {
          return exports.gyromagneticRatio[key];
        }
      }
      return null;
    }
  }
});

// ../../../tmp/jcc/node_modules/is-any-array/lib/index.js
var require_lib4 = __commonJS({
  "../../../tmp/jcc/node_modules/is-any-array/lib/index.js"(exports) {
    "use strict";
    Object.defineProperty(exports, "__esModule", { value: true });
    exports.isAnyArray = void 0;
    var toString = Object.prototype.toString;
    function isAnyArray(value) {
      const tag = toString.call(value);
      return tag.endsWith("Array]") && !tag.includes("Big");
    }
    exports.isAnyArray = isAnyArray;
  }
});

// ../../../tmp/jcc/node_modules/median-quickselect/lib/median-quickselect.min.js
var require_median_quickselect_min = __commonJS({
  "../../../tmp/jcc/node_modules/median-quickselect/lib/median-quickselect.min.js"(exports, module) {
    (function() {
      function a(d) {
        for (var e = 0, f = d.length - 1, g = void 0, h = void 0, i = void 0, j2 = c(e, f); true; ) {
          if (f <= e) return d[j2];
          if (f == e + 1) return d[e] > d[f] && b(d, e, f), d[j2];
          for (g = c(e, f), d[g] > d[f] && b(d, g, f), d[e] > d[f] && b(d, e, f), d[g] > d[e] && b(d, g, e), b(d, g, e + 1), h = e + 1, i = f; true; ) {
            do
              h++;
            while (d[e] > d[h]);
            do
              i--;
            while (d[i] > d[e]);
            if (i < h) break;
            b(d, h, i);
          }
          b(d, e, i), i <= j2 && (e = h), i >= j2 && (f = i - 1);
        }
      }
      var b = function b2(d, e, f) {
        var _ref;
        return _ref = [d[f], d[e]], d[e] = _ref[0], d[f] = _ref[1], _ref;
      }, c = function c2(d, e) {
        return ~~((d + e) / 2);
      };
      "undefined" != typeof module && module.exports ? module.exports = a : window.median = a;
    })();
  }
});

// ../../../tmp/jcc/node_modules/ml-array-median/lib/index.js
var require_lib5 = __commonJS({
  "../../../tmp/jcc/node_modules/ml-array-median/lib/index.js"(exports, module) {
    "use strict";
    var isAnyArray = require_lib4();
    var quickSelectMedian = require_median_quickselect_min();
    function _interopDefaultLegacy(e) {
      return e && typeof e === "object" && "default" in e ? e : { "default": e };
    }
    var quickSelectMedian__default = /* @__PURE__ */ _interopDefaultLegacy(quickSelectMedian);
    function median(input) {
      if (!isAnyArray.isAnyArray(input)) {
        throw new TypeError("input must be an array");
      }
      if (input.length === 0) {
        throw new TypeError("input must not be empty");
      }
      return quickSelectMedian__default["default"](input.slice());
    }
    module.exports = median;
  }
});

// ../../../tmp/jcc/node_modules/jcampconverter/jcampconverter.mjs
var import_ensure_string = __toESM(require_lib(), 1);
var import_dynamic_typing = __toESM(require_lib2(), 1);
var import_ensure_string2 = __toESM(require_lib(), 1);
var import_dynamic_typing2 = __toESM(require_lib2(), 1);
var import_gyromagnetic_ratio = __toESM(require_lib3(), 1);
var import_ml_array_median = __toESM(require_lib5(), 1);
var import_gyromagnetic_ratio2 = __toESM(require_lib3(), 1);
var $ = /\s*\$\$.*/;
function O(e) {
  return e.replace($, "");
}
function ve(e, m = {}) {
  e = (0, import_ensure_string.ensureString)(e);
  let { flatten: n = false } = m, o = e.split(/\r?\n/), f = [], i = [], t = [], l = { title: "", jcamp: "", children: [] }, r = 0, p = e.includes("## ");
  for (let u = 0; u < o.length; u++) {
    let b = o[u], h = p ? b.replaceAll(" ", "") : b;
    if (h.startsWith("##NTUPLES") && r++, h.startsWith("##TITLE")) {
      let s = [h.slice(8).trim()];
      for (let a = u + 1; a < o.length && !o[a].startsWith("##"); a++) s.push(o[a].trim());
      i.push({ title: s.join(`
`), jcamp: `${b}
`, children: [] }), l = i.at(-1), f.push(l);
    } else if (h.startsWith("##END") && r === 0 && l) {
      l.jcamp += `${b}
`;
      let s = i.pop();
      if (!s) throw new Error("Not finished");
      i.length > 0 ? (l = i.at(-1), l.children?.push(s)) : (l = void 0, t.push(s));
    } else if (l?.jcamp) {
      l.jcamp += `${b}
`;
      let s = h.match(/^##(.*?)=(.+)/);
      if (s) {
        let a = s[1].replaceAll(/[ _-]/g, "").toUpperCase();
        a === "DATATYPE" ? l.dataType = s[2].trim() : a === "DATACLASS" ? l.dataClass = s[2].trim() : a === "JCAMPDX" ? l.jcampDX = O(s[2].trim()) : a === "JCAMPCS" && (l.jcampCS = O(s[2].trim()));
      }
    }
    h.startsWith("##END") && r > 0 && r--;
  }
  if (n) {
    for (let u of f) u.children = void 0;
    return f;
  } else return t;
}
var ee = ["TIC", ".RIC", "SCANNUMBER"];
function te(e) {
  let m = e.spectra, n = m.length, o = { times: new Array(n), series: { ms: { dimension: 2, data: new Array(n) } } }, f = [];
  for (let i of ee) {
    let t = k(i);
    m[0][t] && (f.push(t), o.series[t] = { dimension: 1, data: new Array(n) });
  }
  for (let i = 0; i < n; i++) {
    let t = m[i];
    o.times[i] = t.pageValue;
    for (let l of f) o.series[l].data[i] = Number(t[l]);
    t.data && (o.series.ms.data[i] = [t.data.x, t.data.y]);
  }
  e.chromatogram = o;
}
function ne(e) {
  return ee.includes(e);
}
function k(e) {
  return e.toLowerCase().replaceAll(/[^a-z0-9]/g, "");
}
function E(e) {
  return e.map(Number);
}
function V(e, m, n) {
  let { logger: o } = n;
  o && (e.xFactor || o.info("The xFactor is not defined, it will be set to 1"), e.yFactor || o.info("The yFactor is not defined, it will be set to 1"));
  let f = e.yFactor ?? 1, i = e.xFactor ?? 1, t = e.deltaX ?? 1, l = Math.abs(t * 0.1), r = 0.01;
  e.isXYdata = true;
  let p = { x: [], y: [] };
  e.data = p;
  let u = e.firstX || 0, b = e.firstY || 0, h = false, s, a = 0;
  for (; a < m.length; a++) if (s = m.codePointAt(a), s === 13 || s === 10) h = true;
  else if (h) break;
  let c = 0, d = true, A = false, y = false, I = 0, N = false, S = false, g = 0, X = 0, M = false, C = false, Y = false, R = 0;
  for (; a <= m.length; a++) if (a === m.length ? s = 13 : s = m.codePointAt(a), S) (s === 13 || s === 10) && (d = true, S = false, c++);
  else if (s <= 57 && s >= 48) C = true, R > 0 ? g += (s - 48) / 10 ** R++ : (g *= 10, g += s - 48);
  else if (s === 44 || s === 46) C = true, R++;
  else {
    if (C) {
      if (M && (g = g * -1, M = false), d) g *= i, o && (y ? Math.abs(u - t - g) > l && (Math.abs(u - g) < l ? o.trace(`Data line ${c}: After a DIFFERENCE the next line should repeat the last value and this does not seem to be the case: Current value: ${g} - Expected: ${u}.`) : Math.abs(u - t - g) > 10 * l ? o.trace(`Data line ${c}: The difference between the first value ${g} and the expected first x value ${u} based on increment after a DIFFERENCE is too high`) : o.trace(`Data line ${c}: The difference between the first value ${g} and the expected first x value ${u} based on increment after a DIFFERENCE is too high`)) : Math.abs(u - g) > l && o.trace(`Data line ${c}: The difference between the first value ${g} and the first x value ${u} is too high`)), d = false, y && (Y = true);
      else if (Y) Y = false, o && Math.abs(b - g) > r && o.trace(`Data line ${c}: After a duplicate the next line should repeat the same value ${g} !== ${b}`), b = g;
      else {
        A ? (I = M ? 0 - g : g, y = true, A = false) : N || (X = M ? 0 - g : g);
        let x = N ? g - 1 : 1;
        for (let F = 0; F < x; F++) y ? b += I : b = X, p.x.push(u), p.y.push(b * f), u += t;
      }
      M = false, g = 0, R = 0, C = false, N = false;
    }
    if (s < 74 && s > 63) C = true, y = false, g = s - 64;
    else if (s > 96 && s < 106) C = true, y = false, g = s - 96, M = true;
    else if (s === 115) C = true, N = true, g = 9;
    else if (s > 82 && s < 91) C = true, N = true, g = s - 82;
    else if (s > 73 && s < 83) C = true, A = true, g = s - 73;
    else if (s > 105 && s < 115) C = true, A = true, g = s - 105, M = true;
    else if (s === 36 && m.codePointAt(a + 1) === 36) C = true, S = true;
    else if (s === 37) C = true, A = true, g = 0, M = false;
    else if (s === 45) {
      let x = m.codePointAt(a + 1);
      (x !== void 0 && x >= 48 && x <= 57 || x === 44 || x === 46) && (C = true, d || (y = false), M = true);
    } else (s === 13 || s === 10) && (d = true, S = false, c++);
  }
  o && y && o.warn("The last value is a difference, it should be repeated on the next line");
}
var re = /[,\t ]+/;
function P(e, m, n) {
  if (e.isPeaktable = true, !e.variables || Object.keys(e.variables).length === 2 ? me(e, m, n) : ue(e, m, n), e.variables) for (let o in e.variables) e.variables[o].data = e.data?.[o];
}
function me(e, m, n) {
  let { logger: o } = n, f = { x: [], y: [] };
  e.data = f;
  let i = m.split(/,? *,?[;\r\n]+ */);
  for (let t = 1; t < i.length; t++) {
    let l = i[t].trim().replace($, "").split(re);
    if (l.length % 2 === 0) for (let r = 0; r < l.length; r = r + 2) e.xFactor !== void 0 && e.yFactor !== void 0 && (f.x.push(Number(l[r]) * e.xFactor), f.y.push(Number(l[r + 1]) * e.yFactor));
    else o?.warn(`Format error: ${l.toString()}`);
  }
}
function ue(e, m, n) {
  let { logger: o } = n, f = {}, i = Object.keys(e.variables), t = i.length;
  for (let r of i) f[r] = [];
  e.data = f;
  let l = m.split(/,? *,?[;\r\n]+ */);
  for (let r = 1; r < l.length; r++) {
    let p = l[r].trim().replace($, "").split(re);
    if (p.length % t === 0) for (let u = 0; u < p.length; u++) f[i[u % t]].push(Number(p[u]));
    else o?.warn(`Wrong number of columns: ${p.toString()}`);
  }
}
function B(e, m) {
  e.isXYAdata = true;
  let n = {};
  e.data = n;
  let o = m.split(/\r?\n/), f = o[0].replace(/^.*?([A-Z]+).*$/, "$1").split("").map((i) => i.toLowerCase());
  for (let i = 1; i < o.length; i++) {
    let t = o[i].replace(/^\((.*)\)$/, "$1").split(/ *, */);
    for (let l = 0; l < f.length; l++) {
      let r = t[l];
      switch (f[l]) {
        case "x":
        case "y":
        case "w":
          r = Number.parseFloat(r);
          break;
        case "a":
          r = r.replace(/^<(.*)>$/, "$1");
          break;
        case "m":
          break;
        default:
          continue;
      }
      n[f[l]] || (n[f[l]] = []), n[f[l]].push(r);
    }
  }
}
function se(e) {
  return Array.isArray(e) ? e[0] : e;
}
function j(e) {
  let { spectra: m } = e, n = m[0].data.y[0], o = n, f = m.length, i = m[0].data.x.length || 0, t = new Array(f);
  for (let s = 0; s < f; s++) {
    t[s] = m[s].data.y;
    for (let a = 0; a < i; a++) {
      let c = t[s][a];
      c < n && (n = c), c > o && (o = c);
    }
  }
  let l = m[0].data.x[0], r = m[0].data.x.at(-1), { firstY: p, lastY: u } = ce(e);
  if (l > r) for (let s of t) s.reverse();
  p > u && t.reverse();
  let b = [];
  for (let s of t) {
    let a = Float64Array.from(s);
    for (let c = 0; c < a.length; c++) a[c] < 0 && (a[c] = -a[c]);
    b.push((0, import_ml_array_median.default)(a));
  }
  let h = (0, import_ml_array_median.default)(b);
  return { z: t, minX: Math.min(l, r), maxX: Math.max(l, r), minY: Math.min(p, u), maxY: Math.max(p, u), minZ: n, maxZ: o, noise: h };
}
function ce(e) {
  let { spectra: m, ntuples: n, info: o } = e;
  if (n) for (let f of n) {
    let { symbol: i, nucleus: t, units: l } = f;
    if (i.match(/[F|T]1/) && l?.toUpperCase().match("HZ")) {
      let r = se(o[".OBSERVEFREQUENCY"]), { nucleus: p } = n.find((c) => c.symbol.match(/[F|T]2/));
      if ([r, p, t].some((c) => !c)) break;
      let u = (0, import_gyromagnetic_ratio.getGyromagneticRatio)(p), b = (0, import_gyromagnetic_ratio.getGyromagneticRatio)(t), { first: h, last: s } = f, a = b !== null && u !== null ? r * b / u : r;
      return { firstY: h / a, lastY: s / a };
    }
  }
  return { firstY: m[0].pageValue, lastY: m.at(-1).pageValue };
}
function Z(e, m) {
  let n = e.noise, o = e.z, f, i, t, l, r, p, u, b, h = o.length, s = o[0].length, a, c, d, A, y = e.minX, N = (e.maxX - y) / (s - 1), S = e.minY, X = (e.maxY - S) / (h - 1), M = e.minZ, C = e.maxZ, Y = m.nbContourLevels * 2, R = new Array(Y), x;
  for (let F = 0; F < Y; F++) {
    let U = {};
    R[F] = U;
    let le = F % 2, K = (C - m.noiseMultiplier * n) * Math.exp((F >> 1) - m.nbContourLevels);
    le === 0 ? x = K + m.noiseMultiplier * n : x = 0 - K - m.noiseMultiplier * n;
    let D = [];
    if (U.zValue = x, U.lines = D, !(x <= M || x >= C)) for (let v = 0; v < h - 1; v++) {
      let Q = o[v], _ = o[v + 1];
      for (let T = 0; T < s - 1; T++) f = Q[T], i = Q[T + 1], t = _[T], l = _[T + 1], r = f > x, p = i > x, u = t > x, b = l > x, r !== p && r !== u && (a = T + (x - f) / (i - f), c = v, d = T, A = v + (x - f) / (t - f), D.push(a * N + y, c * X + S, d * N + y, A * X + S)), b !== p && b !== u && (a = T + 1, c = v + 1 - (x - l) / (i - l), d = T + 1 - (x - l) / (t - l), A = v + 1, D.push(a * N + y, c * X + S, d * N + y, A * X + S)), p !== u && (a = (T + 1 - (x - i) / (t - i)) * N + y, c = (v + (x - i) / (t - i)) * X + S, p !== r && (d = T + 1 - (x - i) / (f - i), A = v, D.push(a, c, d * N + y, A * X + S)), u !== r && (d = T, A = v + 1 - (x - t) / (f - t), D.push(a, c, d * N + y, A * X + S)), p !== b && (d = T + 1, A = v + (x - i) / (l - i), D.push(a, c, d * N + y, A * X + S)), u !== b && (d = T + (x - t) / (l - t), A = v + 1, D.push(a, c, d * N + y, A * X + S)));
    }
  }
  return { minX: e.minX, maxX: e.maxX, minY: e.minY, maxY: e.maxY, segments: R };
}
function G(e, m) {
  let n = j(e);
  m.noContour || (e.contourLines = Z(n, m), delete n.z), e.minMax = n;
}
function H(e, m) {
  for (let n of e) {
    let o = 0, f = 0;
    for (let i of n.spectra) {
      if (n.ntuples?.symbol ? (!o && i.observeFrequency && (o = i.observeFrequency), !f && i.shiftOffsetVal && (f = i.shiftOffsetVal)) : (o = i.observeFrequency, f = i.shiftOffsetVal), o && i.xUnits?.toUpperCase().includes("HZ") && (i.xUnits = "PPM", i.xFactor = i.xFactor !== void 0 ? i.xFactor / o : void 0, i.firstX = i.firstX !== void 0 ? i.firstX / o : void 0, i.lastX = i.lastX !== void 0 ? i.lastX / o : void 0, i.deltaX = i.deltaX !== void 0 ? i.deltaX / o : void 0, i.data)) for (let t = 0; t < i.data.x.length; t++) i.data.x[t] /= o;
      if (f && i.xUnits.toLowerCase().includes("ppm") && i.firstX !== void 0 && i.lastX !== void 0) {
        let t = i.firstX - f;
        if (i.firstX = i.firstX - t, i.lastX = i.lastX - t, i.data) for (let l = 0; l < i.data.x.length; l++) i.data.x[l] -= t;
      }
      if (n.ntuples?.nucleus && n.ntuples.symbol) for (let t = 0; t < n.ntuples.nucleus.length; t++) {
        let l = n.ntuples.symbol[t], r = n.ntuples.nucleus[t];
        if (l.match(/^[F|T]/) && !r) {
          if (l.match(/[F|T]1/)) if (n.tmp.$NUC2 && typeof n.tmp.$NUC2 == "string") n.ntuples.nucleus[t] = n.tmp.$NUC2;
          else {
            let p = n.ntuples.symbol.indexOf(l.replace(/^([F|T]).*/, "$12"));
            p && n.ntuples.nucleus[p] && (n.ntuples.nucleus[t] = n.ntuples.nucleus[p]);
          }
          l.match(/[F|T]2/) && typeof n.tmp.$NUC1 == "string" && (n.ntuples.nucleus[t] = n.tmp.$NUC1);
        }
        l.match(/[F|T]2/) && (n.yType = n.ntuples.nucleus[0], n.xType && !(0, import_gyromagnetic_ratio2.getGyromagneticRatio)(n.xType) && (n.xType = n.ntuples.nucleus[1]));
      }
      if (o && n.ntuples?.symbol && n.ntuples.nucleus) {
        let t = "", l = n.ntuples.symbol.indexOf(i.pageSymbol);
        n.ntuples.units?.[l] && (t = n.ntuples.units[l]);
        let { nucleus: r } = n.ntuples;
        if (!t.toLowerCase().match(/(ppm|seconds)/) && r.length > 1) {
          if (l !== 0) {
            let h = "Not sure about this ntuples format";
            if (m) {
              m.warn(h);
              continue;
            } else throw new Error(h);
          }
          let { nucleus: p } = n.ntuples, u = (0, import_gyromagnetic_ratio2.getGyromagneticRatio)(p[0]), b = (0, import_gyromagnetic_ratio2.getGyromagneticRatio)(p[1]);
          if (!u || !b) {
            let h = `Problem with determination of gyromagnetic ratio for ${p.join("-")}`;
            if (m) m.error(h);
            else throw new Error(h);
          } else {
            let h = u / b * o;
            i.pageValue /= h;
          }
        }
      }
    }
  }
}
function J(e) {
  let m = e.spectra[0].data;
  e.chromatogram = { times: m.x.slice(), series: { intensity: { dimension: 1, data: m.y.slice() } } };
}
function q(e, m, n) {
  H(e, n.logger), pe(e, n);
  for (let o of e) {
    if (Object.keys(o.ntuples).length > 0) {
      let f = [], i = Object.keys(o.ntuples);
      for (let t of i) {
        let l = o.ntuples[t];
        if (l) for (let r = 0; r < l.length; r++) f[r] || (f[r] = {}), f[r][t] = l[r];
      }
      o.ntuples = f;
    }
    o.twoD && n.wantXY && (G(o, n), n.logger?.trace({ profiling: true }, "Finished countour plot calculation"), n.keepSpectra || delete o.spectra), n.chromatogram && (o.spectra.length > 1 ? te(o) : J(o), n.logger?.trace({ profiling: true }, "Finished chromatogram calculation")), delete o.tmp;
  }
}
function pe(e, m) {
  for (let n of e) for (let o in n.meta) {
    let f = n.meta[o];
    if (typeof f == "string") {
      if (f.startsWith("{")) {
        if (!f.includes(":") && f.endsWith("}")) {
          let i = f.slice(1, -1).split(/[,; ]+/).filter(Boolean);
          for (let t = 0; t < i.length; t++) n.meta[o + String(t)] = m.dynamicTyping ? (0, import_dynamic_typing2.parseString)(i[t]) : i[t];
        }
      } else if (f.startsWith("(")) {
        let i = f.split(/\r?\n/), t = /^\((?<from>\d+)\.\.(?<to>\d+)\).*$/;
        if (t.test(i[0])) {
          let [l, r] = i[0].match(t)?.slice(1).map(Number) ?? [], p = i.slice(1).join(" ").split(/[,; ]+/).filter(Boolean);
          for (let u = l; u <= r; u++) m.dynamicTyping && typeof p[u - l] == "string" ? n.meta[o + String(u)] = (0, import_dynamic_typing2.parseString)(p[u - l]) : n.meta[o + String(u)] = p[u - l];
        }
      }
    }
  }
}
function z(e, m, n) {
  let o = -1, f = -1, i = "", t = "";
  if (n.indexOf("++") > 0) i = n.replace(/.*\(([a-zA-Z0-9]+)\+\+.*/, "$1"), t = n.replace(/.*\.\.([a-zA-Z0-9]+).*/, "$1");
  else {
    n = n.replaceAll(/[^a-zA-Z%]/g, ""), i = n.charAt(0), t = n.charAt(1), m.variables = {};
    for (let l of n) {
      let r = l.toLowerCase(), p = e.ntuples.symbol?.indexOf(l) || 0;
      if (p === -1) throw new Error(`Symbol undefined: ${l}`);
      m.variables[r] = {};
      for (let u in e.ntuples) e.ntuples[u]?.[p] && (m.variables[r][u.replace(/^var/, "")] = e.ntuples[u]?.[p]);
    }
  }
  o = e.ntuples.symbol?.indexOf(i) ?? -1, f = e.ntuples.symbol?.indexOf(t) ?? -1, o === -1 && (o = 0), f === -1 && (f = 0), e.ntuples.first && (e.ntuples.first.length > o && (m.firstX = e.ntuples.first[o]), e.ntuples.first.length > f && (m.firstY = e.ntuples.first[f])), e.ntuples.last && (e.ntuples.last.length > o && (m.lastX = e.ntuples.last[o]), e.ntuples.last.length > f && (m.lastY = e.ntuples.last[f])), e.ntuples.vardim && e.ntuples.vardim.length > o && (m.nbPoints = e.ntuples.vardim[o]), e.ntuples.factor && (e.ntuples.factor.length > o && (m.xFactor = e.ntuples.factor[o]), e.ntuples.factor.length > f && (m.yFactor = e.ntuples.factor[f])), e.ntuples.units && (e.ntuples.units.length > o && (e.ntuples.varname?.[o] ? m.xUnits = `${e.ntuples.varname[o]} [${e.ntuples.units[o]}]` : m.xUnits = e.ntuples.units[o]), e.ntuples.units.length > f && (e.ntuples.varname?.[f] ? m.yUnits = `${e.ntuples.varname[f]} [${e.ntuples.units[f]}]` : m.yUnits = e.ntuples.units[f]));
}
function w(e) {
  e.xFactor || (e.xFactor = 1), e.yFactor || (e.yFactor = 1);
}
var L = /[ \t]*,[ \t]*/;
var ge = { removeComments: false, keepRecordsRegExp: /^$/, canonicDataLabels: true, canonicMetadataLabels: false, dynamicTyping: true, withoutXY: false, noTrimRegExp: /^$/, chromatogram: false, keepSpectra: false, noContour: false, nbContourLevels: 7, noiseMultiplier: 5 };
function pt(e, m = {}) {
  e = (0, import_ensure_string2.ensureString)(e);
  let n = { ...ge, ...m };
  n.logger?.debug("Starting jcamp conversion"), n.wantXY = !n.withoutXY, n.start = Date.now();
  let o = [], f = { entries: [], flatten: [] }, i = { children: [], spectra: [], ntuples: {}, info: {}, meta: {}, tmp: {} }, t = i, l = [], r = { data: {} };
  n.logger?.trace({ profiling: true }, "Before split to LDRS");
  let p = e.replaceAll(/[\r\n]+##/g, `
##`).split(`
##`);
  n.logger?.trace({ profiling: true }, "Split to LDRS"), p[0] && (p[0] = p[0].replace(/^[\r\n ]*##/, ""));
  for (let u of p) {
    let b = u.indexOf("="), h = b > 0 ? u.slice(0, Math.max(0, b)) : u, s = b > 0 ? h.match(n.noTrimRegExp) ? u.slice(Math.max(0, b + 1)) : u.slice(Math.max(0, b + 1)).trim() : "", a = h.replaceAll(/[_ -]/g, "").toUpperCase();
    if (a === "DATATABLE") {
      let c = s.indexOf(`
`);
      if (c === -1 && (c = s.indexOf("\r")), c > 0) {
        let d = s.slice(0, Math.max(0, c)).split(/[ ,;\t]+/);
        z(t, r, d[0]), r.datatable = d[0], d[1]?.includes("PEAKS") ? a = "PEAKTABLE" : d[1] && (d[1].indexOf("XYDATA") || d[0].indexOf("++") > 0) && (a = "XYDATA", r.nbPoints && r.lastX !== void 0 && r.firstX !== void 0 && (r.deltaX = (r.lastX - r.firstX) / (r.nbPoints - 1)));
      }
    }
    if (a === "XYDATA") {
      n.wantXY && (w(r), s.match(/.*\+\+.*/) ? (r.nbPoints && r.lastX !== void 0 && r.firstX !== void 0 && (r.deltaX = (r.lastX - r.firstX) / (r.nbPoints - 1)), V(r, s, n)) : P(r, s, n), t?.spectra.push(r), r = { data: {} });
      continue;
    } else if (a === "PEAKTABLE") {
      n.wantXY && (w(r), P(r, s, n), t?.spectra.push(r), r = { data: {} });
      continue;
    }
    if (a === "PEAKASSIGNMENTS") {
      n.wantXY && (s.match(/.*[^A-Z]*.*/) && B(r, s), t?.spectra.push(r), r = { data: {} });
      continue;
    }
    if (n.removeComments && (s = s.split(/\r?\n/).map((c) => c.replace(/ *\$\$.*$/, "")).join(`
`)), a === "TITLE") {
      let c = t;
      c.children || (c.children = []), t = { spectra: [], ntuples: {}, info: {}, meta: {}, tmp: {} }, c.children.push(t), l.push(c), o.push(t), t.title = s;
    } else a === "DATATYPE" ? (t.dataType = s, s.match(/^nd|\snd\s/i) && (t.twoD = true)) : a === "NTUPLES" ? s.match(/^nd|\snd\s/i) && (t.twoD = true) : a === "DATACLASS" ? t.dataClass = s : a === "JCAMPDX" ? t.jcampDX = O(s) : a === "JCAMPCS" ? t.jcampCS = O(s) : a === "XUNITS" ? r.xUnits = s : a === "YUNITS" ? r.yUnits = s : a === "FIRSTX" ? r.firstX = Number(s) : a === "LASTX" ? r.lastX = Number(s) : a === "FIRSTY" ? r.firstY = Number(s) : a === "LASTY" ? r.lastY = Number(s) : a === "NPOINTS" ? r.nbPoints = Number(s) : a === "XFACTOR" ? r.xFactor = Number(s) : a === "YFACTOR" ? r.yFactor = Number(s) : a === "MAXX" ? r.maxX = Number(s) : a === "MINX" ? r.minX = Number(s) : a === "MAXY" ? r.maxY = Number(s) : a === "MINY" ? r.minY = Number(s) : a === "DELTAX" ? r.deltaX = Number(s) : a === ".OBSERVEFREQUENCY" || a === "$SFO1" ? r.observeFrequency || (r.observeFrequency = Number(s)) : a === ".OBSERVENUCLEUS" ? r.xType || (t.xType = s.replaceAll(/[^a-zA-Z0-9]/g, "")) : a === "$OFFSET" ? (t.shiftOffsetNum = 0, r.shiftOffsetVal || (r.shiftOffsetVal = Number(s))) : a === "$REFERENCEPOINT" || (a === "VARNAME" ? t.ntuples.varname = s.split(L) : a === "SYMBOL" ? t.ntuples.symbol = s.split(L) : a === "VARTYPE" ? t.ntuples.vartype = s.split(L) : a === "VARFORM" ? t.ntuples.varform = s.split(L) : a === "VARDIM" ? t.ntuples.vardim = E(s.split(L)) : a === "UNITS" ? t.ntuples.units = s.split(L) : a === "FACTOR" ? t.ntuples.factor = E(s.split(L)) : a === "FIRST" ? t.ntuples.first = E(s.split(L)) : a === "LAST" ? t.ntuples.last = E(s.split(L)) : a === "MIN" ? t.ntuples.min = E(s.split(L)) : a === "MAX" ? t.ntuples.max = E(s.split(L)) : a === ".NUCLEUS" ? t.ntuples && (t.ntuples.nucleus = s.split(L).map((c) => c.replaceAll(/[^a-zA-Z0-9]/g, ""))) : a === "PAGE" ? (r.page = s.trim(), r.pageValue = Number(s.replace(/^.*=/, "")), r.pageSymbol = r.page.replace(/[=].*/, "")) : a === "RETENTIONTIME" ? r.pageValue = Number(s) : ne(a) ? r[k(a)] = s : a === "SAMPLEDESCRIPTION" ? r.sampleDescription = s : a.startsWith("$NUC") ? !t.tmp[a] && !s.includes("off") && (t.tmp[a] = s.replaceAll(/[<>]/g, "")) : a === "END" && (t = l.pop()));
    if (t?.info && t.meta && a.match(n.keepRecordsRegExp)) {
      let c, d;
      h.startsWith("$") ? (d = n.canonicMetadataLabels ? a.slice(1) : h.slice(1), c = t.meta) : (d = n.canonicDataLabels ? a : h, c = t.info), n.dynamicTyping && (s = (0, import_dynamic_typing.parseString)(s)), c[d] ? (Array.isArray(c[d]) || (c[d] = [c[d]]), c[d].push(s)) : c[d] = s;
    }
  }
  if (n.logger?.trace({ profiling: true }, "Finished parsing"), q(o, f, n), n.logger?.trace({ profiling: true }, "Total time"), f.entries = i.children || [], f.flatten = o, n.logger) {
    n.logger.debug("Finished jcamp conversion");
    for (let u of f.flatten) n.logger.debug(`${u.dataType} - ${u.title}`);
  }
  return f;
}
function gt(e, m) {
  let { logger: n, OCL: o } = m;
  if (!e.info.ATOMLIST || !e.info.BONDLIST) {
    n?.warn("No ATOMLIST or BONDLIST in the JCAMP-CS entry");
    return;
  }
  Ce(e, n);
  let f = xe(e.info.ATOMLIST), i = ye(e.info.BONDLIST), t = Ae(e.info.CHARGE, n), l = he(o, f, i, t, n);
  return { molecule: l, molfile: l.toMolfile() };
}
function he(e, m, n, o, f) {
  let i = { S: e.Molecule.cBondTypeSingle, D: e.Molecule.cBondTypeDouble, T: e.Molecule.cBondTypeTriple, Q: e.Molecule.cBondTypeQuadruple }, t = {}, l = new e.Molecule(m.length, n.length);
  for (let r of m) {
    let p = e.Molecule.getAtomicNoFromLabel(r.element);
    p || (f?.error(`Atomic number of ${r.element} could not be determined`), p = e.Molecule.getAtomicNoFromLabel("X")), t[r.atomNumber] = l.addAtom(p), l.setAtomMapNo(t[r.atomNumber], r.atomNumber, false);
  }
  for (let r of n) {
    if (t[r.atomNumber1] === void 0) {
      f?.error(`A bond goes to atomNumber ${r.atomNumber1} that does not exists`);
      continue;
    }
    if (t[r.atomNumber2] === void 0) {
      f?.error(`A bond goes to atomNumber ${r.atomNumber2} that does not exists`);
      continue;
    }
    let p = l.addBond(t[r.atomNumber1], t[r.atomNumber2]);
    l.setBondType(p, i[r.bondType]);
  }
  for (let r of o) {
    if (t[r.atomNumber] === void 0) {
      f?.error(`A charge goes to atomNumber ${r.atomNumber} that does not exists`);
      continue;
    }
    l.setAtomCharge(t[r.atomNumber], r.value);
  }
  return l;
}
function xe(e) {
  let m = e.split(/\r?\n/).map((o) => O(o)).filter(Boolean), n = [];
  for (let o of m) {
    let [f, i, t] = o.trim().split(/\s+/);
    n.push({ atomNumber: Number(f), element: i, nbImplicitHydrogens: t?.length > 0 ? Number(t) : void 0 });
  }
  return n;
}
function ye(e) {
  let m = e.split(/\r?\n/).map((o) => O(o)).filter(Boolean), n = [];
  for (let o of m) {
    let [f, i, t] = o.trim().split(/\s+/);
    n.push({ atomNumber1: Number(f), atomNumber2: Number(i), bondType: t });
  }
  return n;
}
function Ae(e, m) {
  if (!e) return [];
  let n = e.split(/\r?\n/).map((f) => O(f)).filter(Boolean), o = [];
  for (let f of n) {
    let [i, t, l] = f.trim().split(/\s+/);
    l !== void 0 && m?.warn("Charge on multiple atom is not supported"), o.push({ atomNumber: Number(t), value: Number(i) });
  }
  return o;
}
function Ce(e, m) {
  let n = ["STEREOPAIR", "STEREOCENTER", "RADICAL", "STEREOMOLECULE"];
  for (let o of n) e.info[o] && m?.warn(`JCAMP-CS parser do not support: ${o}`);
}
export {
  pt as convert,
  ve as createTree,
  gt as parseJcampCS
};
