import type { LabelChange, ResultMessage } from './types.ts';

/** Rules for class names typed by operators; pure, shared by the form and its tests. */

export const MAX_CLASS_NAME = 100;

/** Why a class name cannot be used, or undefined when it can. */
export function classNameProblem(raw: string): string | undefined {
  const name = raw.trim();
  if (!name) return 'Type a class name.';
  if (name.length > MAX_CLASS_NAME) return `A class name has at most ${MAX_CLASS_NAME} characters.`;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is being refused
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'A class name cannot contain control characters.';
  // Leading dots make hidden files wherever classes are written to disk.
  if (name.startsWith('.')) return 'A class name cannot start with a dot.';
  return undefined;
}

/** The existing class a typed name refers to, ignoring case and surrounding blanks (so "NaCl " joins "nacl"). */
export function existingClass(name: string, classes: readonly string[]): string | undefined {
  const key = name.trim().toLowerCase();
  return classes.find((c) => c.toLowerCase() === key);
}

/** The result as it stands after a labelling or its undo (unchanged when the change is not about it). */
export function withLabelChange(r: ResultMessage, change: LabelChange): ResultMessage {
  if (!change.spectrumIds.includes(r.id)) return r;
  if (change.kind === 'labelled') {
    return { ...r, label: { class: change.class, at: change.at, enrollmentId: change.enrollmentId, ...(change.by ? { by: change.by } : {}) } };
  }
  // An undo removes only its own label: a later labelling of the same spectrum stands.
  if (r.label?.enrollmentId !== change.enrollmentId) return r;
  const { label: _gone, ...rest } = r;
  return rest;
}
