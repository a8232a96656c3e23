// Reads a Parquet file with hyparquet (pure JavaScript; shares nothing with DuckDB, which wrote
// it) and prints its rows as one JSON array. Usage: node read-parquet.mjs FILE
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet'
import { compressors } from 'hyparquet-compressors'

const file = await asyncBufferFromFile(process.argv[2])
const rows = await parquetReadObjects({ file, compressors })
process.stdout.write(JSON.stringify(rows, (k, v) => (typeof v === 'bigint' ? Number(v) : v)))
