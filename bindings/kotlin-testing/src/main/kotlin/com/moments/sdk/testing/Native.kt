package com.moments.sdk.testing

import com.sun.jna.Library
import com.sun.jna.Native
import com.sun.jna.Pointer

/**
 * The mock's native library (`moments_mock_ffi`): JNA finds it in this jar under its resource prefix
 * (`linux-x86-64/`, `darwin-aarch64/`, …), or where `-Djna.library.path` points.
 */
@Suppress("FunctionName")
internal interface MockLibrary : Library {
    fun moments_mock_start(error: ByteArray, errorLen: Int): Pointer?
    fun moments_mock_base_url(mock: Pointer): String?
    fun moments_mock_stop(mock: Pointer)

    companion object {
        val INSTANCE: MockLibrary by lazy { Native.load("moments_mock_ffi", MockLibrary::class.java) }
    }
}
