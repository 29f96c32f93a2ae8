package io.somastack.memory.internal;

import io.somastack.models.EmbedderConfig;
import java.io.IOException;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.KnnVectorsReader;
import org.apache.lucene.codecs.KnnVectorsWriter;
import org.apache.lucene.codecs.lucene104.Lucene104Codec;
import org.apache.lucene.index.SegmentReadState;
import org.apache.lucene.index.SegmentWriteState;

/**
 * Lucene's default codec, except that vectors may have up to {@link EmbedderConfig#MAX_DIMENSION}
 * dimensions instead of 1,024, so that remote models such as text-embedding-3-small (1,536)
 * fit. Only the indexing-time limit changes: files are written by the default vectors format
 * under its own name, so any Lucene reads them back with its standard codec.
 */
final class WideVectorsCodec extends Lucene104Codec {
    private final KnnVectorsFormat vectors = new WideVectorsFormat(super.getKnnVectorsFormatForField(MemoryIndex.VECTOR));

    @Override
    public KnnVectorsFormat getKnnVectorsFormatForField(String field) {
        return vectors;
    }

    private static final class WideVectorsFormat extends KnnVectorsFormat {
        private final KnnVectorsFormat delegate;

        WideVectorsFormat(KnnVectorsFormat delegate) {
            super(delegate.getName());
            this.delegate = delegate;
        }

        @Override
        public KnnVectorsWriter fieldsWriter(SegmentWriteState state) throws IOException {
            return delegate.fieldsWriter(state);
        }

        @Override
        public KnnVectorsReader fieldsReader(SegmentReadState state) throws IOException {
            return delegate.fieldsReader(state);
        }

        @Override
        public int getMaxDimensions(String fieldName) {
            return EmbedderConfig.MAX_DIMENSION;
        }
    }
}
