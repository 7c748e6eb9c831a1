// Tests de vnu.mjs : `node --test tools/web/test/`.
// Le classement est testé sur des sorties vnu fabriquées ; le vrai vérificateur n'est lancé que si
// java et vnu.jar sont là (sinon ces tests sont sautés).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { test } from 'node:test';

import { classify, isAllowedEmailMessage, parseArgs } from '../vnu.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const VNU = path.join(HERE, '..', 'vnu.mjs');
const JAR = path.join(HERE, '..', 'node_modules', 'vnu-jar', 'build', 'dist', 'vnu.jar');
const HAVE_JAVA = !spawnSync('java', ['-version']).error;

const err = (file, message) => ({ type: 'error', url: pathToFileURL(path.resolve(file)).href, lastLine: 3, firstColumn: 2, message, extract: 'x' });

test('tolérances courriel : textes exacts de vnu seulement', () => {
  for (const m of [
    'The “cellpadding” attribute on the “table” element is obsolete. Use CSS instead.',
    'The “cellspacing” attribute on the “table” element is obsolete. Use CSS instead.',
    'The “border” attribute on the “table” element is obsolete. Consider specifying “img { border: 0; }” in CSS instead.',
    'The “align” attribute on the “td” element is obsolete. Use CSS instead.',
    'The “valign” attribute on the “tr” element is obsolete. Use CSS instead.',
    'The “bgcolor” attribute on the “th” element is obsolete. Use CSS instead.',
    'The “width” attribute on the “table” element is obsolete. Use CSS instead.',
  ]) {
    assert.ok(isAllowedEmailMessage(m), m);
  }
  for (const m of [
    'The “align” attribute on the “div” element is obsolete. Use CSS instead.',
    'The “border” attribute on the “img” element is obsolete. Consider specifying “img { border: 0; }” in CSS instead.',
    'The “height” attribute on the “td” element is obsolete. Use CSS instead.',
    'The “background” attribute on the “table” element is obsolete. Use CSS instead.',
    'The “bgcolor” attribute on the “body” element is obsolete. Use CSS instead.',
    'Attribute “bgcolor” not allowed on element “thead” at this point.',
    'The “center” element is obsolete. Use CSS instead.',
    'The “width” attribute on the “table” element is obsolete. Use CSS instead. Extra',
  ]) {
    assert.ok(!isAllowedEmailMessage(m), m);
  }
});

test('classement : erreurs, tolérances des seuls fichiers --email, avertissements à part', () => {
  const files = parseArgs(['page.html', '--email', 'mail.html']);
  const obsolete = 'The “cellpadding” attribute on the “table” element is obsolete. Use CSS instead.';
  const report = {
    version: 'test',
    messages: [
      err('page.html', obsolete),
      err('mail.html', obsolete),
      err('mail.html', 'An “img” element must have an “alt” attribute, except under certain conditions.'),
      { ...err('mail.html', 'The “width” attribute on the “td” element is obsolete. Use CSS instead.'), type: 'info', subType: 'warning' },
      { ...err('page.html', 'Trailing slash on void elements has no effect.'), type: 'info' },
      { type: 'non-document-error', message: 'IO error' },
    ],
  };
  const out = classify(report, files);
  assert.equal(out.errors, 3);
  assert.equal(out.allowed, 1);
  assert.deepEqual(Object.keys(out.files), ['page.html', 'mail.html', '(vnu)']);
  assert.equal(out.files['page.html'][0].message, obsolete);
  assert.deepEqual(out.files['page.html'][0], { type: 'error', message: obsolete, line: 3, column: 2, extract: 'x' });
  assert.equal(out.files['mail.html'].length, 1);
  assert.equal(out.allowed_messages['mail.html'].length, 1);
  assert.equal(out.warnings['mail.html'][0].type, 'warning');
  assert.equal(out.warnings['page.html'][0].type, 'info');
});

test('ligne de commande', () => {
  assert.deepEqual(parseArgs(['a.html', '--email=b.html', '--', '--email']), [
    { arg: 'a.html', email: false },
    { arg: 'b.html', email: true },
    { arg: '--email', email: false },
  ]);
  assert.deepEqual(parseArgs(['a.html', '--email', 'a.html']), [{ arg: 'a.html', email: true }]);
  assert.throws(() => parseArgs(['--email']));
  assert.throws(() => parseArgs(['--nope']));
});

test('vrai vnu : une page valide, une fautive, un courriel en tableaux', { skip: !(HAVE_JAVA && existsSync(JAR)) && 'java ou vnu.jar absent' }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vnu-test-'));
  try {
    const head = (t) => `<!DOCTYPE html>\n<html lang="fr">\n<head>\n<meta charset="utf-8">\n<title>${t}</title>\n</head>\n`;
    writeFileSync(path.join(dir, 'ok.html'), `${head('Bonne page')}<body>\n<main><h1>Revue de presse</h1><p>Les « nouvelles » du jour.</p></main>\n</body>\n</html>\n`);
    writeFileSync(path.join(dir, 'ko.html'), `${head('Page fautive')}<body>\n<p>a <div>b</div></p>\n<img src="x.png">\n</body>\n</html>\n`);
    writeFileSync(
      path.join(dir, 'mail.html'),
      `${head('Lettre')}<body>\n<table width="100%" cellpadding="0" cellspacing="0" border="0" bgcolor="#eeeeee" align="center">\n` +
        '<tr><td align="center" valign="top" bgcolor="#ffffff" width="600"><p>Bonjour, voici la veille du jour.</p></td></tr>\n</table>\n</body>\n</html>\n',
    );
    const run = (...args) => {
      const r = spawnSync(process.execPath, [VNU, ...args], { cwd: dir, encoding: 'utf8' });
      return { status: r.status, out: r.stdout ? JSON.parse(r.stdout) : null, stderr: r.stderr };
    };
    const ok = run('ok.html', '--email', 'mail.html');
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.out.errors, 0);
    assert.ok(ok.out.warnings['mail.html'].some((w) => w.message.includes('“cellpadding”')));
    const ko = run('ok.html', 'ko.html', 'mail.html');
    assert.equal(ko.status, 1);
    assert.equal(ko.out.errors, 2);
    assert.equal(ko.out.files['ko.html'].length, 2);
    assert.equal(run('absent.html').status, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
