package io.somastack.memory.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Vector and hash helpers: unit normalization, dot products, the stored byte form, SHA-256. */
public final class Vectors {
    private Vectors() {
    }

    /** A copy of {@code vector} scaled to unit length (a zero vector stays zero). */
    public static float[] normalized(float[] vector) {
        double sum = 0;
        for (float value : vector) {
            sum += value * value;
        }
        float[] result = vector.clone();
        if (sum == 0) {
            return result;
        }
        float norm = (float) Math.sqrt(sum);
        for (int i = 0; i < result.length; i++) {
            result[i] /= norm;
        }
        return result;
    }

    /** The dot product; the cosine similarity of unit vectors. */
    public static double dot(float[] left, float[] right) {
        double sum = 0;
        for (int i = 0; i < left.length; i++) {
            sum += left[i] * right[i];
        }
        return sum;
    }

    /** The stored form of an embedding: little-endian IEEE 754 float32, 4 bytes per dimension. */
    public static byte[] toBytes(float[] vector) {
        ByteBuffer buffer = ByteBuffer.allocate(vector.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        buffer.asFloatBuffer().put(vector);
        return buffer.array();
    }

    public static float[] fromBytes(byte[] bytes) {
        float[] vector = new float[bytes.length / Float.BYTES];
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(vector);
        return vector;
    }

    public static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
