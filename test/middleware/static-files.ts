/** A throwaway site folder for serveStatic tests (removed by the caller's t.after). */
import { mkdtemp, mkdir, writeFile, symlink, rm, utimes } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface Site {
  base: string
  root: string
  big: Buffer
  cleanup(): Promise<void>
}

export async function makeSite(): Promise<Site> {
  const base = await mkdtemp(join(tmpdir(), 'switchyard-static-'))
  const root = join(base, 'public')
  await mkdir(join(root, 'docs'), { recursive: true })
  await mkdir(join(root, 'empty-dir'), { recursive: true })
  await mkdir(join(root, '.git'), { recursive: true })
  await writeFile(join(base, 'secret.txt'), 'TOP SECRET')
  await writeFile(join(root, 'index.html'), '<h1>home</h1>')
  await writeFile(join(root, 'app.js'), 'console.log(1)\n')
  await writeFile(join(root, 'docs', 'index.html'), '<h1>docs</h1>')
  await writeFile(join(root, 'data.json'), JSON.stringify({ ok: true }))
  await writeFile(join(root, '.env'), 'PASSWORD=x')
  await writeFile(join(root, '.git', 'config'), '[core]')
  await writeFile(join(root, 'empty.txt'), '')
  await writeFile(join(root, 'a b.txt'), 'spaced')
  const big = Buffer.alloc(300_000)
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff
  await writeFile(join(root, 'big.bin'), big)
  await writeFile(join(root, 'page.html'), '<p>' + 'lorem ipsum '.repeat(500) + '</p>')
  await symlink(join(base, 'secret.txt'), join(root, 'escape.txt'))
  await symlink(base, join(root, 'escape-dir'))
  await symlink(join(root, 'app.js'), join(root, 'inside-link.js'))
  const old = new Date('2024-01-02T03:04:05Z')
  await utimes(join(root, 'app.js'), old, old)
  return { base, root, big, cleanup: () => rm(base, { recursive: true, force: true }) }
}
