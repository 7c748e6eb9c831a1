#!/usr/bin/env node
// Validation HTML par le vérificateur W3C Nu (vnu.jar, paquet npm vnu-jar), lancé UNE fois
// sur tous les fichiers donnés.
//
//   node tools/web/vnu.mjs [--email FICHIER]... [FICHIER]...
//
// Écrit sur la sortie standard un seul document JSON :
//   {"files":    {"<chemin>": [{"type","message","line","column","extract"}...]},  // erreurs
//    "warnings": {"<chemin>": [...]},            // avertissements et infos, non comptés
//    "allowed_messages": {"<chemin>": [...]},    // erreurs tolérées (courriels), voir plus bas
//    "errors": N, "allowed": M, "vnu": "<version>"}
// Code de sortie : 0 si N == 0, 1 sinon, 2 pour un usage incorrect ou si java / vnu.jar manque.
//
// Fichiers passés avec --email : les seules erreurs tolérées sont les plaintes du vérificateur sur
// les attributs de présentation obsolètes des tableaux dont les clients de messagerie ont encore
// besoin (cellpadding, cellspacing, border, align, valign, bgcolor, width), reconnues au mot près
// par leur message. NB : vnu 26.x les classe déjà en avertissements (type "info", subType
// "warning"), donc elles ne comptent de toute façon pas ; la tolérance ne sert que si une autre
// version les rend à nouveau en erreurs.

import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const EMAIL_ATTRIBUTES = ['cellpadding', 'cellspacing', 'border', 'align', 'valign', 'bgcolor', 'width'];
const TABLE_ELEMENTS = ['table', 'caption', 'colgroup', 'col', 'thead', 'tbody', 'tfoot', 'tr', 'td', 'th'];

// Textes exacts de vnu (validator/validator, « The “X” attribute on the “Y” element is obsolete. »
// suivi de son conseil). Le conseil de « border » diffère des autres.
const EMAIL_ALLOWED = new RegExp(
  `^The “(?:${EMAIL_ATTRIBUTES.join('|')})” attribute on the “(?:${TABLE_ELEMENTS.join('|')})” ` +
    'element is obsolete\\. (?:Use CSS instead\\.|Consider specifying “img \\{ border: 0; \\}” in CSS instead\\.)$',
);

/** Vrai si `message` (texte d'un message vnu) est une erreur tolérée dans un courriel. */
export function isAllowedEmailMessage(message) {
  return EMAIL_ALLOWED.test(message);
}

function fail(code, text) {
  process.stderr.write(`vnu.mjs : ${text}\n`);
  process.exit(code);
}

const USAGE = 'usage : node tools/web/vnu.mjs [--email FICHIER]... [FICHIER]...';

/** Analyse la ligne de commande : [{arg, email}] dans l'ordre, sans doublons. */
export function parseArgs(argv) {
  const files = [];
  const seen = new Map();
  const add = (arg, email) => {
    if (seen.has(arg)) {
      seen.get(arg).email ||= email;
      return;
    }
    const entry = { arg, email };
    seen.set(arg, entry);
    files.push(entry);
  };
  let onlyFiles = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!onlyFiles && a === '--') {
      onlyFiles = true;
    } else if (!onlyFiles && a === '--email') {
      if (i + 1 >= argv.length) throw new Error('--email attend un fichier');
      add(argv[++i], true);
    } else if (!onlyFiles && a.startsWith('--email=')) {
      add(a.slice('--email='.length), true);
    } else if (!onlyFiles && (a === '-h' || a === '--help')) {
      return null;
    } else if (!onlyFiles && a.startsWith('-') && a !== '-') {
      throw new Error(`option inconnue : ${a}`);
    } else {
      add(a, false);
    }
  }
  return files;
}

/** Chemin absolu d'un fichier à partir de l'URL « file:/… » que rend vnu, ou null. */
function urlToPath(url) {
  if (typeof url !== 'string' || !url.startsWith('file:')) return null;
  try {
    return fileURLToPath(new URL(url));
  } catch {
    return null;
  }
}

function entryOf(m, type) {
  return {
    type,
    message: m.message ?? '',
    line: m.firstLine ?? m.lastLine ?? null,
    column: m.firstColumn ?? null,
    extract: m.extract ?? null,
  };
}

/**
 * Classe la sortie JSON de vnu (`report`) pour les fichiers `files` ([{arg, email}]).
 * Pure : sert aussi aux tests.
 */
export function classify(report, files) {
  const byAbs = new Map(files.map((f) => [path.resolve(f.arg), f]));
  const out = { files: {}, warnings: {}, allowed_messages: {}, errors: 0, allowed: 0, vnu: report.version ?? null };
  for (const f of files) {
    out.files[f.arg] = [];
    out.warnings[f.arg] = [];
    if (f.email) out.allowed_messages[f.arg] = [];
  }
  for (const m of report.messages ?? []) {
    const abs = urlToPath(m.url);
    const f = abs !== null ? byAbs.get(abs) : undefined;
    // Message sans fichier reconnu (erreur d'entrée/sortie, URL inattendue) : gardé sous sa clé.
    const key = f ? f.arg : String(m.url ?? '(vnu)');
    if (m.type === 'error' || m.type === 'non-document-error') {
      const entry = entryOf(m, 'error');
      if (f && f.email && m.type === 'error' && isAllowedEmailMessage(entry.message)) {
        out.allowed_messages[key].push(entry);
        out.allowed += 1;
      } else {
        (out.files[key] ||= []).push(entry);
        out.errors += 1;
      }
    } else {
      const type = m.subType === 'warning' ? 'warning' : m.type || 'info';
      (out.warnings[key] ||= []).push(entryOf(m, type));
    }
  }
  return out;
}

/** Chemin de vnu.jar fourni par le paquet npm vnu-jar (son export par défaut). */
function vnuJarPath() {
  const require = createRequire(import.meta.url);
  let jar;
  try {
    jar = String(require('vnu-jar'));
  } catch {
    jar = path.join(path.dirname(fileURLToPath(import.meta.url)), 'node_modules/vnu-jar/build/dist/vnu.jar');
  }
  return jar;
}

function checkJava(java) {
  const r = spawnSync(java, ['-version'], { encoding: 'utf8' });
  if (r.error) {
    fail(2, `Java est introuvable (« ${java} ») : installez le paquet Debian default-jre-headless (apt-get install default-jre-headless) ou lancez « make web-deps ».`);
  }
  const v = /version "(\d+)(?:\.(\d+))?/.exec(`${r.stderr}${r.stdout}`);
  let major = v ? Number(v[1]) : 0;
  if (major === 1 && v[2]) major = Number(v[2]);
  if (v && major < 17) {
    fail(2, `Java ${major} est trop ancien pour vnu.jar (17 ou plus requis) : installez le paquet Debian default-jre-headless.`);
  }
}

function main() {
  let files;
  try {
    files = parseArgs(process.argv.slice(2));
  } catch (e) {
    fail(2, `${e.message}\n${USAGE}`);
  }
  if (files === null) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  if (files.length === 0) fail(2, `aucun fichier à vérifier\n${USAGE}`);
  for (const f of files) {
    if (f.arg === '-') fail(2, 'la lecture sur l’entrée standard n’est pas prise en charge : donnez un fichier');
    // vnu passe sous silence un fichier absent : on le refuse ici.
    if (!existsSync(f.arg) || !statSync(f.arg).isFile()) fail(2, `fichier introuvable : ${f.arg}`);
  }

  const jar = vnuJarPath();
  if (!existsSync(jar)) {
    fail(2, `vnu.jar introuvable (${jar}) : lancez « make web-deps » (ou npm ci --prefix tools/web).`);
  }
  const java = process.env.JAVA || 'java';
  checkJava(java);

  const r = spawnSync(
    java,
    [
      // Démarrage ~30 % plus rapide : compilation C1 seule, ramasse-miettes série. C1 consomme
      // plus de pile : sans -Xss, vnu échoue (« StackOverflowError while evaluating HTML schema »).
      '-XX:TieredStopAtLevel=1',
      '-XX:+UseSerialGC',
      '-Xss4m',
      '-jar', jar,
      '--format', 'json', '--stdout', '--exit-zero-always',
      // vnu ne connaît pas « -- » : un nom commençant par « - » serait pris pour une option.
      ...files.map((f) => (f.arg.startsWith('-') ? `./${f.arg}` : f.arg)),
    ],
    { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 },
  );
  if (r.error) fail(2, `échec du lancement de java : ${r.error.message}`);
  let report;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    fail(2, `sortie de vnu illisible (code ${r.status}) :\n${r.stderr || ''}${(r.stdout || '').slice(0, 2000)}`);
  }
  const out = classify(report, files);
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  process.exit(out.errors === 0 ? 0 : 1);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main();
}
