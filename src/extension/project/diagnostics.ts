// The core's validation in Problems, for every project file the store knows (open or not).
import * as vscode from 'vscode';
import type { Diagnostic as CoreDiagnostic } from '../../core/taxonomy/diagnostics';
import type { ProjectStore } from './store';

const SEVERITY: Record<CoreDiagnostic['severity'], vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
};

/** Quick fixes read the core diagnostic back from the vscode one. */
const origin = new WeakMap<vscode.Diagnostic, CoreDiagnostic>();

export function coreDiagnosticOf(d: vscode.Diagnostic): CoreDiagnostic | undefined {
  return origin.get(d);
}

export function toVscodeDiagnostic(d: CoreDiagnostic): vscode.Diagnostic {
  const range = new vscode.Range(d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character);
  const out = new vscode.Diagnostic(range, d.message, SEVERITY[d.severity]);
  out.source = 'pscl';
  out.code = d.code;
  origin.set(out, d);
  return out;
}

export function registerDiagnostics(projects: ProjectStore): vscode.Disposable {
  const collection = vscode.languages.createDiagnosticCollection('pscl');
  const update = (uris: readonly vscode.Uri[]) => {
    for (const uri of uris) {
      const snapshot = projects.snapshot(uri);
      if (snapshot) collection.set(uri, snapshot.diagnostics.map(toVscodeDiagnostic));
      else collection.delete(uri);
    }
  };
  update(projects.uris());
  return vscode.Disposable.from(collection, projects.onDidChange(update));
}
