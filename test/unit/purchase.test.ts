import { describe, expect, test } from 'vitest'
import { PurchaseInput, Timestamp, toPurchase } from '../../handlers/purchase.ts'
import { fromDocument, toDocument } from '../../runtime/elasticsearch/document.ts'
import { purchaseBody } from '../support/purchases.ts'

describe('Timestamp', () => {
  test.each([
    ['2021-12-30 12:00:00+00', '2021-12-30T12:00:00.000Z'],
    ['2021-12-30T12:00:00+00:00', '2021-12-30T12:00:00.000Z'],
    ['2021-12-30T12:00:00Z', '2021-12-30T12:00:00.000Z'],
    ['2021-12-30T14:30:00.5+02:30', '2021-12-30T12:00:00.500Z'],
    ['2021-12-30T07:00:00-0500', '2021-12-30T12:00:00.000Z'],
    // Dated by the day where it was written: 2000 began there, not yet in UTC.
    ['2000-01-01T00:30:00+01:00', '1999-12-31T23:30:00.000Z'],
    ['2000-02-29T12:00:00Z', '2000-02-29T12:00:00.000Z'],
  ])('accepts %s as %s', (input, normalised) => {
    expect(Timestamp.parse(input)).toBe(normalised)
  })

  test.each([
    '2021-12-30T12:00:00',
    '2021-12-30',
    '2021-02-30T12:00:00Z',
    '2021-12-30T25:00:00Z',
    '1999-12-31T23:59:59Z',
    '2100-01-01T00:00:00Z',
    '2021-02-29T12:00:00Z',
    '2021-12-30T12:00:60Z',
    '2021-12-30T12:00:00+24:00',
    '+275760-09-13T00:00:00Z',
    'yesterday',
  ])('rejects %s', (input) => {
    expect(Timestamp.safeParse(input).success).toBe(false)
  })
})

describe('PurchaseInput', () => {
  test('accepts a valid purchase', () => {
    expect(PurchaseInput.safeParse(purchaseBody()).success).toBe(true)
  })

  test('reports every failing field path', () => {
    const result = PurchaseInput.safeParse(
      purchaseBody({
        shop_id: 'not-a-uuid',
        scoops: [{ type: '', quantity: 0, price: 1.5 }],
        extra: true,
      }),
    )
    expect(result.success).toBe(false)
    const paths = result.error?.issues.map((issue) => issue.path.join('.'))
    expect(paths).toEqual(
      expect.arrayContaining([
        'shop_id',
        'scoops.0.type',
        'scoops.0.quantity',
        'scoops.0.price',
        '',
      ]),
    )
  })

  test.each([
    ['vanilla', true],
    ['crème brûlée', true],
    ['🍦'.repeat(64), true], // 64 characters, 128 UTF-16 units: JSON Schema counts characters
    ['🍦'.repeat(65), false],
    [' vanilla', false],
    ['vanilla\u00a0', false],
    ['van\u0000illa', false],
    ['van\u0085illa', false],
    ['', false],
  ])('a flavour named %j is valid: %s', (type, valid) => {
    const body = purchaseBody({ scoops: [{ type, quantity: 1, price: 100 }] })
    expect(PurchaseInput.safeParse(body).success).toBe(valid)
  })

  test('needs at least one scoop and at most 100', () => {
    expect(PurchaseInput.safeParse(purchaseBody({ scoops: [] })).success).toBe(false)
    const scoop = { type: 'mint', quantity: 1, price: 100 }
    expect(PurchaseInput.safeParse(purchaseBody({ scoops: Array(101).fill(scoop) })).success).toBe(
      false,
    )
    expect(PurchaseInput.safeParse(purchaseBody({ scoops: Array(100).fill(scoop) })).success).toBe(
      true,
    )
  })
})

test('toPurchase adds the total; the stored document adds line totals and the scoop count', () => {
  const purchase = toPurchase({
    ...purchaseBody(),
    timestamp: '2021-12-30T12:00:00.000Z',
    received_at: '2021-12-30T12:00:01.000Z',
  } as never)
  expect(purchase.total_cents).toBe(800)
  const document = toDocument(purchase)
  expect(document.scoops.map((s) => s.line_total_cents)).toEqual([500, 300])
  expect(document.scoop_count).toBe(3)
  expect(document.total_cents).toBe(800)
  // What the store adds for its aggregations never reaches a reader.
  expect(fromDocument(document)).toEqual(purchase)
})
