// `pscl completion bash|zsh`: a completion script for the shell, generated from the command table
// and each command's help (its options) so it cannot drift from them: commands, subcommands,
// options, the values of options with a fixed set, and file names elsewhere.
import { VARIANT_NAMES } from '../core/clip/graph/variants';
import { DATASET_FORMATS } from '../core/taxonomy/model';
import { CliError, type Command, type CommandEntry } from './command';

/** Options whose values are a fixed set. */
const VALUES: Record<string, readonly string[]> = {
  '--format': DATASET_FORMATS,
  '--variant': VARIANT_NAMES,
  '--device': ['auto', 'cpu', 'cuda'],
  '--provider': ['auto', 'cpu', 'cuda'],
  '--vocab': ['small', 'real'],
  '--act': ['quick_gelu', 'gelu'],
  '--dtype': ['F32', 'F16', 'BF16'],
};

export interface CompletionSpec {
  commands: string[];
  subcommands: Record<string, readonly string[]>;
  options: Record<string, string[]>;
  values: Record<string, readonly string[]>;
}

/** The table of `commands` (registry.ts) with each command's options, read from its help. */
export async function completionSpec(table: Record<string, CommandEntry>, self?: Command): Promise<CompletionSpec> {
  const commands = Object.keys(table);
  const subcommands: Record<string, readonly string[]> = {};
  const options: Record<string, string[]> = {};
  for (const name of commands) {
    const c = name === 'completion' && self ? self : await table[name]!.load();
    if (c.subcommands) subcommands[name] = c.subcommands;
    options[name] = [...new Set([...(c.help.match(/--[a-z][a-z0-9-]*/g) ?? []), '--help'])].sort();
  }
  return { commands, subcommands, options, values: VALUES };
}

const words = (list: readonly string[]) => list.join(' ');

export function bashScript(spec: CompletionSpec): string {
  const cases = spec.commands.map((c) => `    ${c}) subs="${words(spec.subcommands[c] ?? [])}"; opts="${words(spec.options[c] ?? [])}" ;;`);
  const values = Object.entries(spec.values).map(([o, v]) => `    ${o}) COMPREPLY=($(compgen -W "${words(v)}" -- "$cur")); return ;;`);
  return `# pscl completion for bash: add to ~/.bashrc
#   source <(pscl completion bash)
_pscl() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" cmd="\${COMP_WORDS[1]}" subs="" opts=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${words(spec.commands)} --help --version" -- "$cur"))
    return
  fi
  case "$prev" in
${values.join('\n')}
  esac
  case "$cmd" in
${cases.join('\n')}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  elif [ "$COMP_CWORD" -eq 2 ] && [ -n "$subs" ]; then
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}
complete -o filenames -F _pscl pscl
`;
}

export function zshScript(spec: CompletionSpec, summaries: Record<string, string>): string {
  const described = spec.commands.map((c) => `    '${c}:${(summaries[c] ?? '').replace(/'/g, "'\\''").replace(/:/g, '\\:')}'`);
  const cases = spec.commands.map((c) => `    ${c}) subs=(${words(spec.subcommands[c] ?? [])}); opts=(${words(spec.options[c] ?? [])}) ;;`);
  const values = Object.entries(spec.values).map(([o, v]) => `    ${o}) compadd -- ${words(v)}; return ;;`);
  return `#compdef pscl
# pscl completion for zsh: add to ~/.zshrc (after compinit)
#   source <(pscl completion zsh)
_pscl() {
  local -a commands subs opts
  if (( CURRENT == 2 )); then
    commands=(
${described.join('\n')}
    )
    _describe 'command' commands
    compadd -- --help --version
    return
  fi
  case "\${words[CURRENT-1]}" in
${values.join('\n')}
  esac
  case "\${words[2]}" in
${cases.join('\n')}
  esac
  if [[ "\${words[CURRENT]}" == -* ]]; then
    compadd -- $opts
  elif (( CURRENT == 3 && \${#subs} > 0 )); then
    compadd -- $subs
  else
    _files
  fi
}
if (( $+functions[compdef] )); then compdef _pscl pscl; fi
`;
}

const help = `usage: pscl completion bash|zsh

Prints a completion script for the shell (commands, subcommands, options, option values, files):
  bash:  source <(pscl completion bash)      (in ~/.bashrc)
  zsh:   source <(pscl completion zsh)       (in ~/.zshrc, after compinit)`;

/** `pscl completion`, over the command table it is given (registry.ts hands it the table: no import circle). */
export function completionCommand(table: Record<string, CommandEntry>): Command {
  const command: Command = {
    help,
    subcommands: ['bash', 'zsh'],
    async run(argv) {
      const [shell, ...rest] = argv;
      if (rest.length > 0 || (shell !== 'bash' && shell !== 'zsh')) throw new CliError(`completion: say which shell: bash or zsh\n\n${help}`);
      const spec = await completionSpec(table, command);
      const summaries = Object.fromEntries(Object.entries(table).map(([n, e]) => [n, e.summary]));
      process.stdout.write(shell === 'bash' ? bashScript(spec) : zshScript(spec, summaries));
      return 0;
    },
  };
  return command;
}
