import type { XUnit } from '../spectrum.ts';

/**
 * Maps the unit spellings instruments write (JCAMP-DX ##XUNITS=, CSV column headers) onto spectrad's XUnit names,
 * and back for the writers. Unknown spellings are kept as written.
 */
const X_UNITS: ReadonlyArray<readonly [RegExp, XUnit]> = [
  [/^(1\/CM|CM-?1|CM\^-1|CM\*\*-1|WAVENUMBERS?|WAVENUMBER\(?S?\)?\s*\(?1\/CM\)?)$/, 'cm-1'],
  [/^((DEGREES?|DEG)\s*)?2[-\s]?(THETA|TH|Θ)$|^°\s*2\s*(Θ|THETA)$|^2Θ\s*\(?(DEG|DEGREES?|°)\)?$/, '2theta'],
  [/^PPM$/, 'ppm'],
  [/^(NANOMETERS?|NM)$/, 'nm'],
  [/^(MICROMETERS?|MICRONS?|UM|µM|ΜM)$/, 'um'],
  [/^(HZ|HERTZ)$/, 'Hz'],
  [/^(EV|ELECTRON\s*VOLTS?)$/, 'eV'],
  [/^(S|SEC|SECONDS?)$/, 's'],
  [/^(M\/Z|MZ|M\/E|DALTONS?|DA)$/, 'm/z'],
  [/^(INDEX|POINTS?|CHANNELS?|ARBITRARY\s*UNITS?\s*\(INDEX\))$/, 'index'],
  // "No unit" as writers spell it (Varian and Bruker NMR write ARBITRARY UNITS for x too): an unknown x unit,
  // which preprocessing accepts by default like any other unknown unit.
  [/^(ARBITRARY( UNITS?)?|ARB\.? ?UNITS?|A\.U\.?|AU|NONE|UNKNOWN)$/, 'arbitrary'],
];

export function normalizeXUnit(raw: string | undefined): XUnit | undefined {
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (text === '') return undefined;
  const key = text.toUpperCase().replace(/\s+/g, ' ');
  for (const [pattern, unit] of X_UNITS) if (pattern.test(key)) return unit;
  return text;
}

const Y_UNITS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^(ABSORBANCE|ABS|A)$/, 'absorbance'],
  [/^(TRANSMITTANCE|%T|% ?TRANSMITTANCE|PERCENT TRANSMITTANCE)$/, 'transmittance'],
  [/^(REFLECTANCE|%R)$/, 'reflectance'],
  [/^(KUBELKA-MUNK|KUBELKA MUNK)$/, 'kubelka-munk'],
  [/^(COUNTS|CTS|COUNT)$/, 'counts'],
  [/^(ARBITRARY UNITS?|ARB\.? ?UNITS?|A\.U\.|AU|INTENSITY|ARBITRARY)$/, 'arbitrary'],
  [/^(RELATIVE ABUNDANCE|REL\.? ABUNDANCE)$/, 'relative abundance'],
];

export function normalizeYUnit(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const text = raw.trim();
  if (text === '') return undefined;
  const key = text.toUpperCase().replace(/\s+/g, ' ');
  for (const [pattern, unit] of Y_UNITS) if (pattern.test(key)) return unit;
  return text;
}

const JCAMP_X_UNITS: Readonly<Record<string, string>> = {
  'cm-1': '1/CM',
  '2theta': 'DEGREES 2THETA',
  ppm: 'PPM',
  nm: 'NANOMETERS',
  um: 'MICROMETERS',
  Hz: 'HZ',
  eV: 'EV',
  s: 'SECONDS',
  'm/z': 'M/Z',
  index: 'INDEX',
};

/** The ##XUNITS= spelling for an XUnit (JCAMP-DX 5.01 names where the standard has one). */
export function jcampXUnit(unit: XUnit): string {
  return JCAMP_X_UNITS[unit] ?? unit;
}

const JCAMP_Y_UNITS: Readonly<Record<string, string>> = {
  absorbance: 'ABSORBANCE',
  transmittance: 'TRANSMITTANCE',
  reflectance: 'REFLECTANCE',
  'kubelka-munk': 'KUBELKA-MUNK',
  counts: 'COUNTS',
  arbitrary: 'ARBITRARY UNITS',
  'relative abundance': 'RELATIVE ABUNDANCE',
};

export function jcampYUnit(unit: string): string {
  return JCAMP_Y_UNITS[unit] ?? unit;
}

/** The 5.01 ##DATA TYPE= a writer states when the spectrum does not carry one. */
export function jcampDataType(unit: XUnit): string {
  switch (unit) {
    case 'cm-1':
      return 'INFRARED SPECTRUM';
    case 'ppm':
    case 'Hz':
      return 'NMR SPECTRUM';
    case 'nm':
      return 'UV/VIS SPECTRUM';
    case 'm/z':
      return 'MASS SPECTRUM';
    case '2theta':
      return 'X-RAY DIFFRACTION';
    default:
      return 'UNKNOWN';
  }
}

/** Finds a unit inside a CSV column header such as "Wavenumber (cm-1)", "2Theta [deg]" or "Raman shift / cm^-1". */
export function xUnitFromColumnName(name: string): XUnit | undefined {
  const bracket = /[([]\s*([^)\]]+?)\s*[)\]]/.exec(name)?.[1];
  if (bracket) {
    const unit = normalizeXUnit(bracket);
    if (unit && isKnownXUnit(unit)) return unit;
  }
  const slash = /\/\s*(\S+)\s*$/.exec(name)?.[1];
  if (slash) {
    const unit = normalizeXUnit(slash);
    if (unit && isKnownXUnit(unit)) return unit;
  }
  const upper = name.toUpperCase();
  if (/WAVENUMBER|RAMAN SHIFT/.test(upper)) return 'cm-1';
  if (/2\s*-?\s*(THETA|Θ)/.test(upper)) return '2theta';
  if (/WAVELENGTH/.test(upper)) return 'nm';
  if (/\bPPM\b|CHEMICAL SHIFT/.test(upper)) return 'ppm';
  if (/\bM\/Z\b/.test(upper)) return 'm/z';
  const whole = normalizeXUnit(name);
  return whole !== undefined && isKnownXUnit(whole) ? whole : undefined;
}

export function yUnitFromColumnName(name: string): string | undefined {
  const bracket = /[([]\s*([^)\]]+?)\s*[)\]]/.exec(name)?.[1];
  const candidates = [bracket, name].filter((s): s is string => s !== undefined);
  for (const c of candidates) {
    const unit = normalizeYUnit(c);
    if (unit && Object.hasOwn(JCAMP_Y_UNITS, unit)) return unit;
  }
  return undefined;
}

const KNOWN: ReadonlySet<string> = new Set(Object.keys(JCAMP_X_UNITS));
export function isKnownXUnit(unit: string): boolean {
  return KNOWN.has(unit);
}
